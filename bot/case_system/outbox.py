"""The transactional outbox for messages the case system sends (plan confirmations by SMS).

A message is written as a row in the same transaction as the change it reports (a plan and its
confirmation commit together or not at all); a separate sender (the SMS channel's worker) delivers
pending rows and records the outcome. This module only enqueues.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.models import Base, UTCDateTime, enum_type, utcnow


class OutboundStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # deliberately not sent (e.g. the number was withdrawn)


MAX_SMS_CHARACTERS = 1600  # the most Twilio accepts in one message body (it splits into segments)


class OutboundMessage(Base):
    """One message to send. The schema is created by migration 0003_sms (issue 4's sender adds
    `error_code` and `next_attempt_at` for retries)."""

    __tablename__ = "outbound_messages"
    __table_args__ = (sa.Index("ix_outbound_messages_status_to_phone", "status", "to_phone", "id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    channel = sa.Column(sa.String(16), nullable=False, default="sms")
    to_phone = sa.Column(sa.String(20), nullable=False)  # E.164
    body = sa.Column(sa.Text, nullable=False)
    purpose = sa.Column(sa.String(64), nullable=False)  # a machine code, e.g. payment_plan_confirmation
    status = sa.Column(enum_type(OutboundStatus, "outbound_status"), nullable=False, default=OutboundStatus.PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    provider_id = sa.Column(sa.String(64), unique=True)  # the provider's message id once sent (Twilio SID)
    error_code = sa.Column(sa.String(32))  # the provider's error code of the last failed attempt
    next_attempt_at = sa.Column(UTCDateTime())
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = sa.Column(UTCDateTime())


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
    if not to_phone or not to_phone.startswith("+"):
        raise ValueError("to_phone must be an E.164 number")
    if not body or len(body) > MAX_SMS_CHARACTERS:
        raise ValueError(f"body must be 1 to {MAX_SMS_CHARACTERS} characters")
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
