"""The per-turn bookkeeping actions run in the dialogue server, with no action server, and give
what Rasa's remote call gave (the tracker they get without Rasa's replay: tests/bot/test_tracker_copies.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from bot import in_process_actions
from bot.config import REPO_ROOT
from tests.bot.sample_conversation import conversation

NOWHERE = EndpointConfig("http://127.0.0.1:9/webhook")  # nothing listens: no HTTP call may succeed


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(Path(REPO_ROOT) / "domain"))


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(
        RemoteAction, "run", in_process_actions.running_in_process(RemoteAction.run, in_process_actions.executor())
    )


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
