"""Delivery of messages the agency starts, through the real twilio Client to the local fake of
Twilio's API: held until the contact window opens (worked examples over Easter 2027), while
answers to the same debtor still go out at once. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from bot.case_system.domain import outbox
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.store.models import OutboundMessage
from tests.bot.channels.test_outbound_sms import (  # noqa: F401  (fixtures)
    FROM,
    clock,
    database_url,
    delivery,
    fake_twilio,
    sessions,
)

KARI = "+4791234567"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


async def queue_reminder(sessions, *, key: str, at: datetime) -> None:
    async with sessions() as session:
        await outbox.enqueue_agency_sms(
            session,
            to_phone=KARI,
            body=f"påminnelse {key}",
            purpose="plan_installment_reminder",
            idempotency_key=key,
            now=at,
            hours=contact_hours(),
        )
        await session.commit()


async def deliver_all(delivery) -> None:
    while await delivery.deliver_pending():
        pass


async def test_a_reminder_made_before_easter_waits_for_saturday_morning_and_answers_do_not(
    sessions, delivery, fake_twilio, clock
):
    # Wednesday 24 March 2027, 21:30 in Oslo (UTC+1): the window has closed.
    clock.now = utc(2027, 3, 24, 20, 30)
    await queue_reminder(sessions, key="r1", at=clock.now)
    async with sessions() as session:
        outbox.enqueue_sms(session, to_phone=KARI, body="svar", purpose="handoff_reply", now=clock.now)
        await session.commit()
    await deliver_all(delivery)
    assert [m.body for m in fake_twilio.messages] == ["svar"]  # the answer is not held back

    clock.now = utc(2027, 3, 26, 11, 0)  # Good Friday noon: a public holiday
    await deliver_all(delivery)
    clock.now = utc(2027, 3, 27, 7, 59)  # Saturday 08:59 in Oslo
    await deliver_all(delivery)
    assert [m.body for m in fake_twilio.messages] == ["svar"]

    clock.now = utc(2027, 3, 27, 8, 0)  # Saturday 09:00 in Oslo
    await deliver_all(delivery)
    assert [(m.to, m.from_, m.body) for m in fake_twilio.messages][-1] == (KARI, FROM, "påminnelse r1")


async def test_a_message_reached_after_the_window_closed_waits_again_for_tuesday(
    sessions, delivery, fake_twilio, clock
):
    # Made on Easter Saturday at 14:00 (inside the window) but reached only at 15:30 (a backlog):
    # Easter Sunday and Monday are closed, so it goes out on Tuesday 30 March at 08:00 summer time.
    await queue_reminder(sessions, key="r2", at=utc(2027, 3, 27, 13, 0))
    clock.now = utc(2027, 3, 27, 14, 30)
    await deliver_all(delivery)
    assert fake_twilio.messages == []
    async with sessions() as session:
        held = (await session.execute(sa.select(OutboundMessage))).scalar_one()
    assert held.not_before == utc(2027, 3, 30, 6, 0) and held.attempts == 0
    clock.now = utc(2027, 3, 30, 6, 0)
    await deliver_all(delivery)
    assert [m.body for m in fake_twilio.messages] == ["påminnelse r2"]


async def test_17_may_holds_a_message_until_the_18th(sessions, delivery, fake_twilio, clock):
    await queue_reminder(sessions, key="r3", at=utc(2027, 5, 15, 14, 0))  # Saturday 16:00 in Oslo
    for moment in (utc(2027, 5, 16, 10, 0), utc(2027, 5, 17, 10, 0), utc(2027, 5, 18, 5, 59)):
        clock.now = moment
        await deliver_all(delivery)
    assert fake_twilio.messages == []
    clock.now = utc(2027, 5, 18, 6, 0)  # Tuesday 18 May, 08:00 in Oslo
    await deliver_all(delivery)
    assert [m.body for m in fake_twilio.messages] == ["påminnelse r3"]
