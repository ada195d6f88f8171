"""SMS consent, inbound deduplication, the outbox and delivery reports: the case system's side of
the SMS channel.

A debtor who texts STOP (or STOPP, AVSLUTT, or whose carrier reports Twilio's `OptOutType`) is
never sent another SMS until they text START (bot/sms_consent.py reads the keywords). Twilio
retries a webhook it thinks failed with the same `MessageSid`; each one is processed once. Audit
events name the action and outcome, never the number or the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.enums import ConsentChange, OutboundStatus, ProviderStatus
from bot.case_system.contract.requests import DeliveryStatusRequest, InboundSmsRequest, OutboxRequest
from bot.case_system.domain import audit, outbox
from bot.case_system.store.models import InboundSms, OutboundMessage, SmsConversation, SmsOptOut
from bot.channels.conversation_ids import sms_conversation_id
from bot.sms_consent import consent_change

FAILED_STATUSES = {ProviderStatus.FAILED, ProviderStatus.UNDELIVERED}
DELIVERED_STATUSES = {ProviderStatus.SENT, ProviderStatus.DELIVERED, ProviderStatus.READ}


async def is_opted_out(session: AsyncSession, phone: str) -> bool:
    return (await session.get(SmsOptOut, phone)) is not None


async def apply_consent_change(session: AsyncSession, phone: str, change: ConsentChange, *, now: datetime) -> None:
    existing = await session.get(SmsOptOut, phone)
    if change is ConsentChange.OPT_OUT and existing is None:
        session.add(SmsOptOut(phone=phone, opted_out_at=now))
    elif change is ConsentChange.OPT_IN and existing is not None:
        await session.delete(existing)
    await session.flush()


async def first_time_seen(session: AsyncSession, message_sid: str, *, now: datetime) -> bool:
    """Records `message_sid`; False when it was processed before (a retried webhook).

    Call it first in the request's transaction: when a concurrent duplicate wins the race on the
    primary key, the transaction is rolled back and this one is the duplicate. The row becomes
    visible with the caller's commit, together with what the message changed.
    """
    if await session.get(InboundSms, message_sid) is not None:
        return False
    session.add(InboundSms(message_sid=message_sid, received_at=now))
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def remember_number(session: AsyncSession, conversation_id: str, phone: str, *, now: datetime) -> None:
    """Which number an SMS conversation's messages come from, so a caseworker can answer it
    (the conversation id is a keyed hash of the number and cannot be turned back into it)."""
    connection = await session.connection()
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[connection.dialect.name]
    table = SmsConversation.__table__
    statement = insert(table).values(conversation_id=conversation_id, phone=phone, last_inbound_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.conversation_id], set_={"phone": phone, "last_inbound_at": now}
    )
    await session.execute(statement)


@dataclass(frozen=True)
class InboundOutcome:
    duplicate: bool
    consent: Optional[ConsentChange]
    opted_out: bool


async def record_inbound(
    session: AsyncSession,
    message: InboundSmsRequest,
    *,
    now: datetime,
    context: audit.AuditContext,
    conversation_key: str = "",
) -> InboundOutcome:
    """Deduplicate an inbound SMS and apply a consent keyword; say what the channel should do.

    The number is remembered for the caller's conversation (`X-Conversation-Id`) only when that
    id is the SMS channel's keyed hash of this very number (`conversation_key`), so no caller can
    point a conversation's replies at another number."""
    first_time = await first_time_seen(session, message.message_sid, now=now)
    change = consent_change(message.body, message.opt_out_type) if first_time else None
    if change is not None:
        await apply_consent_change(session, message.from_phone, change, now=now)
    opted_out = await is_opted_out(session, message.from_phone)
    if (
        first_time
        and conversation_key
        and context.conversation_id == sms_conversation_id(conversation_key, message.from_phone)
    ):
        await remember_number(session, context.conversation_id, message.from_phone, now=now)
    audit.record(
        session,
        context,
        at=now,
        action="sms.inbound",
        subject_type="sms",
        subject_id=message.message_sid,
        outcome="duplicate" if not first_time else (change.value if change else "accepted"),
        channel="sms",
    )
    await session.commit()
    return InboundOutcome(duplicate=not first_time, consent=change, opted_out=opted_out)


async def enqueue(
    session: AsyncSession, request: OutboxRequest, *, now: datetime, context: audit.AuditContext
) -> OutboundMessage:
    """Put an SMS in the outbox; an opted-out recipient's message is stored as suppressed."""
    suppressed = await is_opted_out(session, request.to_phone)
    message = outbox.enqueue_sms(
        session, to_phone=request.to_phone, body=request.body, purpose=request.purpose, now=now, suppressed=suppressed
    )
    await session.flush()
    audit.record(
        session,
        context,
        at=now,
        action="sms.enqueue",
        subject_type="outbound_message",
        subject_id=str(message.id),
        outcome=message.status.value,
        channel="sms",
    )
    await session.commit()
    return message


async def record_delivery_status(
    session: AsyncSession, report: DeliveryStatusRequest, *, now: datetime, context: audit.AuditContext
) -> OutboundMessage:
    """The provider's delivery report: a failure after acceptance marks the message failed."""
    query = sa.select(OutboundMessage).where(OutboundMessage.provider_id == report.provider_id)
    message = (await session.execute(query)).scalar_one_or_none()
    if message is None:
        raise errors.ApiError(404, "message_not_found", "No outbound message has that provider id.")
    if report.status in FAILED_STATUSES:
        message.status = OutboundStatus.FAILED
        message.error_code = report.error_code or report.status.value
    elif report.status in DELIVERED_STATUSES and message.status is OutboundStatus.SENT:
        message.sent_at = message.sent_at or now
    audit.record(
        session,
        context,
        at=now,
        action="sms.delivery_status",
        subject_type="outbound_message",
        subject_id=str(message.id),
        outcome=report.status.value,
        channel="sms",
    )
    await session.commit()
    return message
