"""An SMS that arrives while the case system is unreachable is kept (in the dialogue server's own
database) and answered once the case system is back, and the webhook's own TwiML says so; nothing
reaches the dialogue meanwhile. (Issue 16: it used to be refused, and the debtor asked to try
again; tests/bot/channels/test_sms_outage.py follows a kept message to its answer.)"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest

from actions.case_system_client import CaseSystemClient
from bot.channels.twilio_sms import TwilioSmsInput
from bot.config import load_settings
from tests.bot.channels.agent_stand_in import Agent
from tests.e2e.conftest import free_port

PHONE = "+4791234567"


@pytest.fixture
async def channel(tmp_path):
    settings = load_settings(
        env={"CONVERSATION_ID_KEY": "k" * 32, "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}"},
        env_file=Path("/nonexistent"),
    )
    # A real client on a port where nothing listens: the connection is refused.
    unreachable = CaseSystemClient(f"http://127.0.0.1:{free_port()}/api/v1", "key", timeout_seconds=2)
    channel = TwilioSmsInput(settings, unreachable)
    yield channel
    await channel.inbox.stop()
    await channel.spool.close()
    await unreachable.close()


def fields(body: str, opt_out_type: str = "") -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "From": PHONE, "Body": body, "NumMedia": "0", "OptOutType": opt_out_type}


async def test_the_debtor_is_told_the_message_is_kept_and_nothing_reaches_the_dialogue_yet(channel, caplog) -> None:
    reached = []

    async def dialogue(message) -> None:
        reached.append(message)

    caplog.set_level(logging.INFO)
    answer = await channel._receive(Agent(), fields("hva skylder jeg"), dialogue)
    message = ElementTree.fromstring(answer.body.decode()).find("Message")
    assert answer.status == 200 and message is not None
    assert "meldingen din er tatt vare på, og du får svar her så snart det er løst" in message.text
    await channel.inbox.settle()
    assert reached == []
    [kept] = await channel.spool.claim(now=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert kept.message.body == "hva skylder jeg" and kept.failures == 1  # waiting for another try
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "case system unreachable" in logged
    assert PHONE not in logged and "skylder" not in logged


@pytest.mark.parametrize("body, opt_out_type", [("STOPP", ""), ("stop", "STOP"), ("START", "")])
async def test_stop_and_start_get_no_answer_of_ours(channel, body, opt_out_type) -> None:
    answer = await channel._receive(Agent(), fields(body, opt_out_type), lambda message: None)
    assert ElementTree.fromstring(answer.body.decode()).find("Message") is None
