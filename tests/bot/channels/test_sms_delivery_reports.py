"""A delivery report that overtakes the backoffice's record of the send it reports on is tried
again until that record exists, against the real case-system app on loopback."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import sqlalchemy as sa

from actions.case_system_client import Caller
from bot.case_system.contract.enums import OutboundStatus
from bot.case_system.store import database as db
from bot.case_system.store.models import OutboundMessage
from bot.channels import twilio_sms
from bot.channels.twilio_sms import TwilioSmsInput
from bot.config import load_settings
from tests.actions.conftest import case_system_clock, case_system_server, client, settings  # noqa: F401

CALLER = Caller(conversation_id="sms-test", channel="sms", purpose="test")


async def record_send(settings, outbox_id: int, sid: str) -> None:
    """What the backoffice does once Twilio has accepted the message."""
    engine = db.create_engine(settings)
    try:
        async with db.session_factory(engine)() as session:
            await session.execute(
                sa.update(OutboundMessage)
                .where(OutboundMessage.id == outbox_id)
                .values(provider_id=sid, status=OutboundStatus.SENT)
            )
            await session.commit()
    finally:
        await engine.dispose()


async def stored(settings, outbox_id: int) -> tuple:
    engine = db.create_engine(settings)
    try:
        async with db.session_factory(engine)() as session:
            message = await session.get(OutboundMessage, outbox_id)
            return message.status, message.error_code
    finally:
        await engine.dispose()


async def test_an_early_failure_report_is_recorded_once_the_send_is(settings, client, monkeypatch) -> None:
    monkeypatch.setattr(twilio_sms, "STATUS_RETRY_SECONDS", (0.05, 0.1, 0.2))
    channel = TwilioSmsInput(
        load_settings(env={"CONVERSATION_ID_KEY": "k" * 32}, env_file=Path("/nonexistent")), client
    )
    queued = await client.enqueue_sms(to_phone="+4791234567", body="Hei", purpose="conversation_reply", caller=CALLER)
    sid = "SM" + secrets.token_hex(16)

    answer = await channel._delivery_report({"provider_id": sid, "status": "undelivered", "error_code": "30003"})
    assert answer.status == 200 and len(channel._tasks) == 1  # not recorded yet: tried again later
    await record_send(settings, queued["id"], sid)
    await asyncio.gather(*channel._tasks)

    assert await stored(settings, queued["id"]) == (OutboundStatus.FAILED, "30003")


async def test_a_report_for_a_message_that_never_appears_is_given_up_with_a_log_line(
    client, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(twilio_sms, "STATUS_RETRY_SECONDS", (0.01, 0.01))
    channel = TwilioSmsInput(
        load_settings(env={"CONVERSATION_ID_KEY": "k" * 32}, env_file=Path("/nonexistent")), client
    )
    await channel._delivery_report(
        {"provider_id": "SM" + secrets.token_hex(16), "status": "failed", "error_code": None}
    )
    await asyncio.gather(*channel._tasks)
    assert "no message with that id" in caplog.text
