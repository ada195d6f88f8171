"""The audit trail: who read or changed a debtor's data, why, and with what outcome.

An audit event names the subject (a case number or record id) but never holds the data itself:
no birth dates, identity numbers, names, phone numbers or message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.store.models import AuditEvent

DEFAULT_ACTOR = "api-client"
DEFAULT_PURPOSE = "unspecified"


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and why (the HTTP layer reads it from the X-Actor, X-Purpose and
    X-Conversation-Id headers)."""

    actor: str = DEFAULT_ACTOR
    purpose: str = DEFAULT_PURPOSE
    conversation_id: Optional[str] = None  # the conversation the caller acts for, if any


def record(
    session: AsyncSession,
    context: AuditContext,
    *,
    at: datetime,
    action: str,
    subject_type: str,
    subject_id: Optional[str],
    outcome: str,
    channel: Optional[str] = None,
    conversation_id: Optional[str] = None,
    detail: Optional[str] = None,
) -> AuditEvent:
    """Add an audit event to `session`; it is written with the request's own commit."""
    event = AuditEvent(
        at=at,
        actor=context.actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=context.purpose,
        outcome=outcome,
        channel=channel,
        conversation_id=conversation_id or context.conversation_id,
        detail=detail,
    )
    session.add(event)
    return event
