"""An SMS that arrives while the case system is unreachable cannot be recorded or answered later,
so the webhook's own TwiML asks the debtor to try again or call; nothing reaches the dialogue."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from actions.case_system_client import CaseSystemClient
from bot.channels.twilio_sms import TwilioSmsInput
from bot.config import REPO_ROOT, load_settings
from tests.e2e.conftest import free_port

PHONE = "+4791234567"


class Agent:
    """What the channel uses of Rasa's agent: the real domain's responses and a tracker store."""

    def __init__(self) -> None:
        self.domain = Domain.load(str(REPO_ROOT / "domain"))
        self.nlg = TemplatedNaturalLanguageGenerator(self.domain.responses)
        self.tracker_store = InMemoryTrackerStore(self.domain)


@pytest.fixture
async def channel():
    settings = load_settings(env={"CONVERSATION_ID_KEY": "k" * 32}, env_file=Path("/nonexistent"))
    # A real client on a port where nothing listens: the connection is refused.
    unreachable = CaseSystemClient(f"http://127.0.0.1:{free_port()}/api/v1", "key", timeout_seconds=2)
    yield TwilioSmsInput(settings, unreachable)
    await unreachable.close()


def fields(body: str, opt_out_type: str = "") -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "From": PHONE, "Body": body, "NumMedia": "0", "OptOutType": opt_out_type}


async def test_the_debtor_is_asked_to_try_again_or_call_and_nothing_reaches_the_dialogue(channel, caplog) -> None:
    reached = []

    async def dialogue(message) -> None:
        reached.append(message)

    caplog.set_level(logging.INFO)
    answer = await channel._receive(Agent(), fields("hva skylder jeg"), dialogue)
    message = ElementTree.fromstring(answer.body.decode()).find("Message")
    assert answer.status == 200 and message is not None
    assert "Prøv igjen om litt, eller ring oss på 33 74 45 00" in message.text
    assert reached == [] and channel._tasks == set()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "case system unreachable" in logged
    assert PHONE not in logged and "skylder" not in logged


@pytest.mark.parametrize("body, opt_out_type", [("STOPP", ""), ("stop", "STOP"), ("START", "")])
async def test_stop_and_start_get_no_answer_of_ours(channel, body, opt_out_type) -> None:
    answer = await channel._receive(Agent(), fields(body, opt_out_type), lambda message: None)
    assert ElementTree.fromstring(answer.body.decode()).find("Message") is None
