"""The transactional outbox for messages the case system sends (plan confirmations by SMS).

A message is written as a row in the same transaction as the change it reports (a plan and its
confirmation commit together or not at all); a separate sender (the backoffice's delivery loop,
bot/outbound_sms.py) delivers pending rows and records the outcome. This module only enqueues.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import OutboundStatus
from bot.case_system.store.models import MAX_SMS_CHARACTERS, OutboundMessage, utcnow


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
