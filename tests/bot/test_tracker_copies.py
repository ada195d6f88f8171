"""A tracker copied from its state is the tracker Rasa's replay of the session gives, after every
kind of event; and the copy can be changed without changing the original."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.actions.forms import FormAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.config import REPO_ROOT
from bot.tracker_cache import working_copy
from bot.tracker_copies import (
    copy_with_events,
    form_temporary_tracker,
    rasa_form_temporary_tracker,
    rasa_tracker_copy,
)
from tests.bot.sample_conversation import conversation, user


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(Path(REPO_ROOT) / "domain"))


def state(tracker: DialogueStateTracker) -> dict:
    """The tracker's whole state; the times of events made during the test left out (each
    temporary tracker makes its own SlotSet and ActionExecuted)."""
    found = tracker.current_state(EventVerbosity.ALL)
    found.pop("latest_event_time", None)
    found["events"] = [{**event, "timestamp": None} for event in found["events"]]
    return found


def assert_same(ours: DialogueStateTracker, rasas: DialogueStateTracker, where: int) -> None:
    assert state(ours) == state(rasas), where
    assert ours.latest_bot_utterance == rasas.latest_bot_utterance, where
    assert ours.is_paused() == rasas.is_paused(), where
    assert {name: slot.has_been_set for name, slot in ours.slots.items()} == {
        name: slot.has_been_set for name, slot in rasas.slots.items()
    }, where


def prefixes(domain: Domain):
    events = conversation()
    for end in range(1, len(events) + 1):
        yield end, DialogueStateTracker.from_events("debtor", events[:end], slots=domain.slots)


def test_a_copy_is_the_replayed_tracker_after_every_event(domain) -> None:
    for end, tracker in prefixes(domain):
        copied = working_copy(tracker)
        assert_same(copied, rasa_tracker_copy(tracker), end)
        copied.update(SlotSet("case_number", "999"))
        copied.update(user("endret"))
        copied.update(BotUttered("ikke i originalen"))
        assert tracker.get_slot("case_number") != "999"
        assert tracker.latest_message is None or tracker.latest_message.text != "endret"
        assert_same(tracker, rasa_tracker_copy(tracker), end)  # the original is as it was


def test_a_copy_with_events_added_is_the_replay_with_them_after_every_event(domain) -> None:
    added = [SlotSet("language", "en"), SlotSet("misunderstood", None), ActionExecuted("verification_form")]
    for end, tracker in prefixes(domain):
        replayed = DialogueStateTracker.from_events(
            "debtor", tracker.events_after_latest_restart() + added, slots=domain.slots
        )
        copied = copy_with_events(tracker, added, domain)
        assert_same(copied, replayed, end)
        copied.update(SlotSet("case_number", "999"))
        assert tracker.get_slot("case_number") != "999"


def test_a_forms_temporary_tracker_is_rasas(domain) -> None:
    form = FormAction("verification_form", None)
    extra = [SlotSet("case_number", "100001"), SlotSet("birth_date", None)]
    for end, tracker in prefixes(domain):
        assert_same(
            form_temporary_tracker(form, tracker, extra, domain),
            rasa_form_temporary_tracker(form, tracker, extra, domain),
            end,
        )
