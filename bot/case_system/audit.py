"""The audit trail: who read or changed a debtor's data, why, and with what outcome.

An audit event names the subject (a case number or record id) but never holds the data itself:
no birth dates, identity numbers, names, phone numbers or message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system import errors
from bot.case_system.models import AuditEvent

ACTOR_HEADER = "X-Actor"
PURPOSE_HEADER = "X-Purpose"
CONVERSATION_HEADER = "X-Conversation-Id"
DEFAULT_ACTOR = "api-client"
DEFAULT_PURPOSE = "unspecified"

# Actors and purposes are identifiers ("action-server", "caseworker:anne", "explain_claim"), not
# free text, so a caller cannot smuggle personal data into the audit trail through a header.
_TOKEN = re.compile(r"[A-Za-z0-9_.:@-]{1,100}")
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.:@+=/-]{1,200}")


@dataclass(frozen=True)
class AuditContext:
    actor: str = DEFAULT_ACTOR
    purpose: str = DEFAULT_PURPOSE
    conversation_id: Optional[str] = None  # the conversation the caller acts for, if any


def context_from_headers(headers: Mapping[str, str]) -> AuditContext:
    """The caller's actor, purpose and conversation from `X-Actor`, `X-Purpose` and
    `X-Conversation-Id`, with defaults."""
    token_rule = "1 to 100 letters, digits or the characters _ . : @ -"
    return AuditContext(
        actor=_header(headers, ACTOR_HEADER, _TOKEN, token_rule) or DEFAULT_ACTOR,
        purpose=_header(headers, PURPOSE_HEADER, _TOKEN, token_rule) or DEFAULT_PURPOSE,
        conversation_id=_header(
            headers, CONVERSATION_HEADER, _CONVERSATION_ID, "1 to 200 letters, digits or the characters _ . : @ + = / -"
        ),
    )


def _header(headers: Mapping[str, str], name: str, pattern: re.Pattern[str], rule: str) -> Optional[str]:
    value = headers.get(name)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not pattern.fullmatch(value):
        raise errors.invalid_field(name, rule)
    return value


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
