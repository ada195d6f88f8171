"""The per-turn bookkeeping actions run in the dialogue server, with no action server, and give
what Rasa's remote call gave; the tracker they get without Rasa's replay is the replayed one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from bot import in_process_actions
from bot.config import REPO_ROOT

NOWHERE = EndpointConfig("http://127.0.0.1:9/webhook")  # nothing listens: no HTTP call may succeed


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(Path(REPO_ROOT) / "domain"))


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(
        RemoteAction, "run", in_process_actions.running_in_process(RemoteAction.run, in_process_actions.executor())
    )


def user(text: str, intent: str = "ask_balance") -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9}, input_channel="socketio")


def conversation() -> list:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("language", "nb"),
        SlotSet("assistant_introduced", True),
        ActionExecuted("action_listen"),
        user("hei", "greet"),
        SlotSet("misunderstood", 1),
        ActionExecuted("verification_form"),
        ActiveLoop("verification_form"),
        SlotSet("requested_slot", "case_number"),
        BotUttered("Saksnummer?", metadata={"utter_action": "utter_ask_case_number"}),
        ActionExecuted("action_listen"),
        user("100001", "inform"),
        SlotSet("case_number", "100001"),
        UserUtteranceReverted(),
        user("100002", "inform"),
        ActionReverted(),
        FollowupAction("action_listen"),
        ConversationPaused(),
        ConversationResumed(),
        AllSlotsReset(),
        SlotSet("language", "en"),
        Restarted(),
        SlotSet("misunderstood", 2),
        ActionExecuted("action_listen"),
        user("this is ridiculous, how much do I owe"),
    ]


def test_the_copied_tracker_is_the_replayed_one_after_every_event(domain) -> None:
    events = conversation()
    candidates = [SlotSet("language", "en"), SlotSet("misunderstood", None)]
    for end in range(1, len(events) + 1):
        tracker = DialogueStateTracker.from_events("debtor", events[:end], slots=domain.slots)
        replayed = DialogueStateTracker.from_events(
            "debtor", tracker.events_after_latest_restart() + candidates, slots=domain.slots
        )
        copied = in_process_actions.tracker_with_slot_events(tracker, candidates, domain)
        assert copied.current_state(EventVerbosity.ALL) == replayed.current_state(EventVerbosity.ALL), end
        assert copied.latest_bot_utterance == replayed.latest_bot_utterance
        assert {name: slot.has_been_set for name, slot in copied.slots.items()} == {
            name: slot.has_been_set for name, slot in replayed.slots.items()
        }
        copied.update(SlotSet("case_number", "999"))  # the copy is its own
        assert tracker.get_slot("case_number") != "999"


async def test_the_bookkeeping_runs_without_an_action_server_and_as_rasa_ran_it(
    domain, in_process, monkeypatch
) -> None:
    tracker = DialogueStateTracker.from_events("debtor", conversation(), slots=domain.slots)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    extract = ActionExtractSlots(NOWHERE)
    monkeypatch.setattr(ActionExtractSlots, "_execute_validation_action", in_process_actions.execute_validation_action)
    ours = await extract.run(CollectingOutputChannel(), nlg, tracker, domain)
    monkeypatch.setattr(
        ActionExtractSlots, "_execute_validation_action", in_process_actions.rasa_execute_validation_action
    )
    rasas = await extract.run(CollectingOutputChannel(), nlg, tracker, domain)
    assert [event.as_dict() | {"timestamp": 0} for event in ours] == [
        event.as_dict() | {"timestamp": 0} for event in rasas
    ]
    # English detected, the outburst acknowledged in English, the misunderstandings reset.
    assert SlotSet("language", "en") in ours and SlotSet("misunderstood", None) in ours
    acknowledged = [event for event in ours if isinstance(event, BotUttered)]
    assert [event.metadata.get("utter_action") for event in acknowledged] == ["utter_acknowledge_frustration"]


class Failing(Action):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher, tracker, domain):
        raise RuntimeError("broken")


async def test_an_action_failing_in_process_fails_as_the_action_server_failing(domain, monkeypatch) -> None:
    failing = ActionExecutor()
    failing.register_action(Failing())
    monkeypatch.setattr(RemoteAction, "run", in_process_actions.running_in_process(RemoteAction.run, failing))
    tracker = DialogueStateTracker.from_events("debtor", conversation(), slots=domain.slots)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    with pytest.raises(RasaException):
        await RemoteAction("action_validate_slot_mappings", NOWHERE).run(
            CollectingOutputChannel(), nlg, tracker, domain
        )
