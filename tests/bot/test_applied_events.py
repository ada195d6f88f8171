"""A tracker's applied events, carried forward from call to call, are Rasa's own after every event
(forms, undone turns, reverted actions, restarts, new sessions, a loop named only late), and a
call late in a long conversation folds only the events that are new."""

from __future__ import annotations

import random

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker

from bot import applied_events
from bot.tracker_cache import working_copy
from tests.bot.sample_conversation import conversation, user

SLOTS = [
    AnySlot(name, mappings=[])
    for name in ("requested_slot", "answer", "language", "assistant_introduced", "misunderstood", "case_number")
]


def count_folded_events(monkeypatch) -> list:
    """How many events each fold goes through, from now on."""
    folded: list = []
    fold = applied_events._fold
    monkeypatch.setattr(
        applied_events, "_fold", lambda t, events, *rest: (folded.append(len(events)), fold(t, events, *rest))
    )
    return folded


@pytest.fixture(autouse=True)
def fresh_folds():
    applied_events.forget()
    yield
    applied_events.forget()


def assert_rasas_own_after_every_event(events: list, sender: str = "applied") -> None:
    tracker = DialogueStateTracker(sender, SLOTS)
    for number, event in enumerate(events):
        tracker.update(event)
        expected = applied_events.rasa_applied_events(tracker)
        assert applied_events.applied_events(tracker) == expected, f"after event {number}: {event}"


def test_the_sample_conversation() -> None:
    assert_rasas_own_after_every_event(conversation())


def form_turns(form: str, turns: int) -> list:
    """A form asking `turns` questions, each answered, then deactivated."""
    events = [
        ActionExecuted("action_listen"),
        user("betale", "ask_payment_plan"),
        ActionExecuted(form),
        ActiveLoop(form),
    ]
    for number in range(turns):
        events += [
            SlotSet("requested_slot", "answer"),
            BotUttered(f"Spørsmål {number}?"),
            ActionExecuted("action_listen"),
            user(f"svar {number}", "inform"),
            DefinePrevUserUtteredFeaturization(False),
            ActionExecuted(form),
            SlotSet("answer", f"svar {number}"),
        ]
    return events + [ActiveLoop(None), SlotSet("requested_slot", None)]


def test_a_form_loop_and_a_fallback_inside_it() -> None:
    events = [ActionExecuted("action_session_start"), SessionStarted()] + form_turns("verification_form", 4)
    events[20:20] = [ActionExecuted("action_default_fallback"), UserUtteranceReverted()]  # inside the loop
    assert_rasas_own_after_every_event(events)


def test_a_loop_named_only_late_changes_how_earlier_events_fold() -> None:
    # "payment_form" runs as a plain action first; once a later ActiveLoop names it a loop,
    # Rasa folds its earlier executions as loop executions.
    events = [
        ActionExecuted("action_listen"),
        user("betale", "ask_payment_plan"),
        ActionExecuted("payment_form"),
        ActionExecuted("action_listen"),
        user("ja", "affirm"),
        ActionExecuted("payment_form"),
    ] + form_turns("payment_form", 2)
    assert_rasas_own_after_every_event(events)


EVENT_KINDS = [
    lambda r: ActionExecuted("action_listen"),
    lambda r: user(f"melding {r.random()}", r.choice(["greet", "inform", "ask_balance"])),
    lambda r: ActionExecuted(r.choice(["utter_greet", "action_balance", "verification_form", "payment_form"])),
    lambda r: ActiveLoop(r.choice(["verification_form", "payment_form", None])),
    lambda r: SlotSet("requested_slot", r.choice(["case_number", None])),
    lambda r: BotUttered("svar"),
    lambda r: UserUtteranceReverted(),
    lambda r: ActionReverted(),
    lambda r: DefinePrevUserUtteredFeaturization(r.random() < 0.5),
    lambda r: Restarted(),
    lambda r: SessionStarted(),
]
WEIGHTS = [8, 8, 8, 2, 3, 4, 2, 1, 2, 0.3, 0.3]


@pytest.mark.parametrize("seed", range(12))
def test_generated_conversations(seed: int) -> None:
    chance = random.Random(seed)
    events = [kind(chance) for kind in chance.choices(EVENT_KINDS, weights=WEIGHTS, k=150)]
    assert_rasas_own_after_every_event(events, sender=f"generated-{seed}")


def test_another_history_of_the_same_conversation_is_folded_in_full() -> None:
    first = DialogueStateTracker("shared", [])
    for event in conversation()[:12]:
        first.update(event)
    applied_events.applied_events(first)
    # A copy with the same first events and different later ones (as a working copy that took
    # another turn), and a history with one event replaced in the middle.
    other = DialogueStateTracker("shared", [])
    for event in list(first.events)[:8] + [UserUtteranceReverted(), ActionExecuted("action_listen")]:
        other.update(event)
    assert applied_events.applied_events(other) == applied_events.rasa_applied_events(other)
    replaced = DialogueStateTracker("shared", [])
    events = list(first.events)
    events[5] = user("noe annet", "deny")
    for event in events:
        replaced.update(event)
    assert applied_events.applied_events(replaced) == applied_events.rasa_applied_events(replaced)


def test_changing_the_returned_list_changes_nothing_later() -> None:
    tracker = DialogueStateTracker("changed", [])
    for event in conversation()[:12]:
        tracker.update(event)
    applied_events.applied_events(tracker).clear()
    tracker.update(ActionExecuted("utter_greet"))
    assert applied_events.applied_events(tracker) == applied_events.rasa_applied_events(tracker)


def test_a_call_late_in_a_long_conversation_folds_only_the_new_events(monkeypatch) -> None:
    tracker = DialogueStateTracker("long", SLOTS)
    folded = count_folded_events(monkeypatch)
    for event in form_turns("verification_form", 300):
        tracker.update(event)
        applied_events.applied_events(tracker)
    assert len(tracker.events) > 2000
    # In full twice: the first event, and when the form's ActiveLoop named a loop; then one event a call.
    assert folded[:4] == [1, 1, 1, 4] and set(folded[4:]) == {1}


def test_a_copy_of_the_tracker_asked_in_turn_with_it_folds_only_its_new_events(monkeypatch) -> None:
    # The policies and forms ask copies of the turn's tracker (with the same conversation id)
    # between the questions about the tracker itself.
    tracker = DialogueStateTracker("copied", SLOTS)
    for event in form_turns("verification_form", 100):
        tracker.update(event)
    applied_events.applied_events(tracker)
    folded = count_folded_events(monkeypatch)
    for number in range(20):
        copy = tracker.copy()
        copy.update(SlotSet("answer", f"kopi {number}"))
        assert applied_events.applied_events(copy) == applied_events.rasa_applied_events(copy)
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(user(f"svar {number}", "inform"))
        assert applied_events.applied_events(tracker) == applied_events.rasa_applied_events(tracker)
    assert max(folded) <= 2


def test_a_working_copy_gets_its_own_copy_of_the_latest_message_without_a_fold_in_full(monkeypatch) -> None:
    tracker = DialogueStateTracker("working", SLOTS)
    for event in form_turns("verification_form", 50) + [ActionExecuted("action_listen"), user("hei", "greet")]:
        tracker.update(event)
    applied_events.applied_events(tracker)
    folded = count_folded_events(monkeypatch)
    copy = working_copy(tracker)  # the latest user message is the copy's own
    copy.update(ActionExecuted("utter_greet"))
    applied = applied_events.applied_events(copy)
    assert applied == applied_events.rasa_applied_events(copy)
    assert any(event is copy.latest_message for event in applied)
    assert not any(event is tracker.latest_message for event in applied)
    assert folded == [1]
