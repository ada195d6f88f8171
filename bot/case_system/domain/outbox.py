"""The transactional outbox for messages the case system sends (plan confirmations by SMS).

A message is written as a row in the same transaction as the change it reports (a plan and its
confirmation commit together or not at all); a separate sender (the backoffice's delivery loop,
bot/outbound_sms.py) delivers pending rows and records the outcome. This module only enqueues.

A message the agency starts (a reminder, a receipt, a notice) is marked `agency_initiated`: it is
held until the contact window opens (contact_window.py), and its idempotency key makes a second
enqueue of the same message a no-op, also when two backoffice replicas race.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import OutboundStatus
from bot.case_system.domain.contact_window import send_not_before
from bot.case_system.domain.opening_hours import OpeningHours
from bot.case_system.store.models import MAX_SMS_CHARACTERS, OutboundMessage, utcnow


class Queued(str, enum.Enum):
    """What became of an agency-initiated message."""

    QUEUED = "queued"  # pending; goes out when the contact window is open
    SUPPRESSED = "suppressed"  # kept for the record, never sent (the number opted out)
    DUPLICATE = "duplicate"  # a message with this key was queued before: nothing new


def enqueue_sms(
    session: AsyncSession,
    *,
    to_phone: str,
    body: str,
    purpose: str,
    now: Optional[datetime] = None,
    suppressed: bool = False,
) -> OutboundMessage:
    """Add an SMS to `session`, pending (or `suppressed`: kept for the record, never sent, e.g.
    to a number that opted out); it is committed or rolled back with the caller's change."""
    _check(to_phone, body)
    message = OutboundMessage(
        channel="sms",
        to_phone=to_phone,
        body=body,
        purpose=purpose,
        status=OutboundStatus.SUPPRESSED if suppressed else OutboundStatus.PENDING,
        attempts=0,
        created_at=now or utcnow(),
    )
    session.add(message)
    return message


def _check(to_phone: str, body: str) -> None:
    if not to_phone or not to_phone.startswith("+"):
        raise ValueError("to_phone must be an E.164 number")
    if not body or len(body) > MAX_SMS_CHARACTERS:
        raise ValueError(f"body must be 1 to {MAX_SMS_CHARACTERS} characters")


async def enqueue_agency_sms(
    session: AsyncSession,
    *,
    to_phone: str,
    body: str,
    purpose: str,
    idempotency_key: str,
    now: datetime,
    hours: OpeningHours,
    suppressed: bool = False,
) -> Queued:
    """Queue an SMS the agency starts, to go out no earlier than the contact window's next opening.

    Written with INSERT ... ON CONFLICT DO NOTHING on `idempotency_key`, so the same reminder,
    receipt or notice is queued once however often (or by however many replicas) it is asked for,
    without disturbing the caller's transaction."""
    _check(to_phone, body)
    connection = await session.connection()
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[connection.dialect.name]
    status = OutboundStatus.SUPPRESSED if suppressed else OutboundStatus.PENDING
    statement = (
        insert(OutboundMessage.__table__)
        .values(
            channel="sms",
            to_phone=to_phone,
            body=body,
            purpose=purpose,
            status=status,
            attempts=0,
            created_at=now,
            agency_initiated=True,
            not_before=send_not_before(now, hours),
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    if (await session.execute(statement)).rowcount == 0:
        return Queued.DUPLICATE
    return Queued.SUPPRESSED if suppressed else Queued.QUEUED


async def already_queued(session: AsyncSession, idempotency_key: str) -> bool:
    query = sa.select(OutboundMessage.id).where(OutboundMessage.idempotency_key == idempotency_key)
    return (await session.execute(query)).first() is not None
