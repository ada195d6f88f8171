"""Delivery of the SMS outbox through the real twilio Client to a local fake of Twilio's API:
what was sent, in order per recipient, retried with backoff, never to an opted-out number."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from bot import sms_consent
from bot.case_system.contract.enums import ConsentChange
from bot.case_system.domain import outbox, sms
from bot.case_system.store import database as db
from bot.case_system.store.models import OutboundMessage
from bot.config import load_settings
from bot.outbound_sms import MAX_ATTEMPTS, SmsDelivery, twilio_client
from tests.bot.case_system.conftest import create_postgres_database, drop_postgres_database, postgres_unreachable_reason
from tests.fakes.twilio_api import FakeTwilioApi

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "fake-auth-token"
FROM = "+4759440000"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.db'}"
        db.upgrade_database(url)
        yield url
        return
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    url = create_postgres_database("debtbot_sms")
    db.upgrade_database(url)
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def sessions(database_url):
    engine = db.engine_for_url(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def fake_twilio():
    fake = FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def delivery(sessions, fake_twilio, clock):
    settings = load_settings(
        env={
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": fake_twilio.base_url,
        },
        env_file=Path("/nonexistent"),
    )
    return SmsDelivery(
        sessions,
        twilio_client(settings),
        from_number=FROM,
        status_callback="https://assistant.example.test/webhooks/twilio_sms/status",
        clock=clock,
    )


async def enqueue(sessions, *messages: tuple[str, str]) -> None:
    async with sessions() as session:
        for to_phone, body in messages:
            outbox.enqueue_sms(session, to_phone=to_phone, body=body, purpose="test", now=NOW)
        await session.commit()


async def statuses(sessions) -> list[tuple]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(OutboundMessage.body, OutboundMessage.status, OutboundMessage.attempts).order_by(
                OutboundMessage.id
            )
        )
        return [(body, status.value, attempts) for body, status, attempts in rows]


async def test_pending_messages_are_sent_in_order_through_the_twilio_client(sessions, delivery, fake_twilio):
    await enqueue(sessions, ("+4791234567", "første"), ("+4798765432", "til Ola"), ("+4791234567", "andre"))
    while await delivery.deliver_pending():
        pass
    sent = [(m.to, m.from_, m.body) for m in fake_twilio.messages]
    assert sent == [("+4791234567", FROM, "første"), ("+4798765432", FROM, "til Ola"), ("+4791234567", FROM, "andre")]
    assert all(m.status_callback.endswith("/webhooks/twilio_sms/status") for m in fake_twilio.messages)
    assert [status for _, status, _ in await statuses(sessions)] == ["sent", "sent", "sent"]
    async with sessions() as session:
        ids = (await session.execute(sa.select(OutboundMessage.provider_id))).scalars().all()
    assert sorted(ids) == sorted(m.sid for m in fake_twilio.messages)


async def test_an_opted_out_number_gets_nothing(sessions, delivery, fake_twilio):
    await enqueue(sessions, ("+4791234567", "hei"), ("+4798765432", "hei Ola"))
    async with sessions() as session:
        await sms.apply_consent_change(session, "+4791234567", ConsentChange.OPT_OUT, now=NOW)
        await session.commit()
    while await delivery.deliver_pending():
        pass
    assert [m.to for m in fake_twilio.messages] == ["+4798765432"]
    assert await statuses(sessions) == [("hei", "suppressed", 0), ("hei Ola", "sent", 1)]


async def test_a_failure_is_retried_with_backoff_and_holds_back_later_messages_to_the_same_number(
    sessions, delivery, fake_twilio, clock
):
    fake_twilio.fail_next = [(500, 20500)]
    await enqueue(sessions, ("+4791234567", "første"), ("+4791234567", "andre"))
    assert await delivery.deliver_pending() == 1
    assert fake_twilio.messages == []
    assert await statuses(sessions) == [("første", "pending", 1), ("andre", "pending", 0)]
    assert await delivery.deliver_pending() == 0  # waiting for the backoff; "andre" must wait too
    clock.now += timedelta(seconds=3)
    while await delivery.deliver_pending():
        pass
    assert [m.body for m in fake_twilio.messages] == ["første", "andre"]
    async with sessions() as session:
        codes = (await session.execute(sa.select(OutboundMessage.error_code))).scalars().all()
    assert codes[0] == "20500"


async def test_delivery_gives_up_after_the_last_attempt(sessions, delivery, fake_twilio, clock):
    fake_twilio.fail_next = [(400, 21211)] * MAX_ATTEMPTS
    await enqueue(sessions, ("+4791234567", "hei"))
    for _ in range(MAX_ATTEMPTS):
        assert await delivery.deliver_pending() == 1
        clock.now += timedelta(hours=1)
    assert await delivery.deliver_pending() == 0
    assert await statuses(sessions) == [("hei", "failed", MAX_ATTEMPTS)]
    assert fake_twilio.messages == []


def test_consent_keywords():
    assert sms_consent.consent_change("STOP") is ConsentChange.OPT_OUT
    assert sms_consent.consent_change(" stopp. ") is ConsentChange.OPT_OUT
    assert sms_consent.consent_change("Avslutt") is ConsentChange.OPT_OUT
    assert sms_consent.consent_change("START") is ConsentChange.OPT_IN
    assert sms_consent.consent_change("stopp betalingen") is None
    assert sms_consent.consent_change("ja") is None
    assert sms_consent.consent_change("whatever", "STOP") is ConsentChange.OPT_OUT
