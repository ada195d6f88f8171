"""Handoffs to a human caseworker: one active handoff per conversation, each with a short random
reference (`H-7K3QXM`) the debtor is given; the numeric id stays in the API's URLs.

What a caseworker reads is the debtor's words without identity numbers (bot/redaction.py, the
project's one redactor): summaries and transcripts are redacted before they are stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import ACTIVE_HANDOFF_STATUSES, HandoffStatus
from bot.case_system.contract.fields import timestamp
from bot.case_system.contract.requests import HandoffRequest, TranscriptEntry
from bot.case_system.domain import audit
from bot.case_system.store.models import Handoff
from bot.redaction import redact_text
from bot.short_references import handoff_reference

MAX_LISTED = 500
REFERENCE_ATTEMPTS = 5


async def reference_taken(session: AsyncSession, reference: str) -> bool:
    return (await session.execute(sa.select(Handoff.id).where(Handoff.reference == reference))).first() is not None


def stored_transcript(entries: Iterable[TranscriptEntry]) -> list[dict[str, str]]:
    """A transcript as it is kept: redacted text, timestamps in UTC."""
    return [
        {"sender": entry.sender.value, "text": redact_text(entry.text), "at": timestamp(entry.at)} for entry in entries
    ]


async def active_handoff(session: AsyncSession, conversation_id: str) -> Optional[Handoff]:
    """The conversation's open or taken handoff, if any."""
    query = sa.select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE_HANDOFF_STATUSES)
    )
    return (await session.execute(query)).scalars().first()


async def create_handoff(session: AsyncSession, fields: dict[str, Any], *, now: datetime) -> tuple[Handoff, bool]:
    """A new open handoff, or the conversation's active one; and whether it was created.

    Asking twice (a retry, or the bot and the user both asking for a human) must not put the same
    conversation in the caseworkers' queue twice. A unique partial index backs the check up when
    two requests race; the loser gets the winner's record.
    """
    existing = await active_handoff(session, fields["conversation_id"])
    if existing is not None:
        return existing, False
    for _ in range(REFERENCE_ATTEMPTS):
        reference = handoff_reference()
        if not await reference_taken(session, reference):
            break
    handoff = Handoff(**fields, reference=reference, status=HandoffStatus.OPEN, created_at=now, updated_at=now)
    session.add(handoff)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        existing = await active_handoff(session, fields["conversation_id"])
        if existing is None:
            raise
        return existing, False
    return handoff, True


async def hand_off(
    session: AsyncSession, request: HandoffRequest, *, now: datetime, context: audit.AuditContext
) -> tuple[Handoff, bool]:
    """Put a conversation in the caseworkers' queue (audited); whether it was created."""
    fields = {
        "conversation_id": request.conversation_id,
        "channel": request.channel,
        "reason": request.reason,
        "priority": request.priority,
        "case_number": request.case_number,
        "summary": redact_text(request.summary),
        "transcript": stored_transcript(request.transcript),
        "contact_phone": request.contact_phone,
        "contact_email": request.contact_email,
    }
    handoff, created = await create_handoff(session, fields, now=now)
    if not created and handoff.contact_phone is None and handoff.contact_email is None:
        # The conversation's handoff was made first (a rights request's human review, say); the
        # way to reach the debtor given since belongs with it.
        handoff.contact_phone, handoff.contact_email = request.contact_phone, request.contact_email
    audit.record(
        session,
        context,
        at=now,
        action="handoff.create",
        subject_type="handoff",
        subject_id=str(handoff.id),
        outcome="created" if created else "existing",
        channel=handoff.channel.value,
        conversation_id=handoff.conversation_id,
    )
    await session.commit()
    return handoff, created


async def list_handoffs(
    session: AsyncSession, *, status: Optional[HandoffStatus], now: datetime, context: audit.AuditContext
) -> list[Handoff]:
    """Handoffs oldest first (the caseworkers' queue order), optionally of one status; audited."""
    query = sa.select(Handoff).order_by(Handoff.created_at, Handoff.id).limit(MAX_LISTED)
    if status is not None:
        query = query.where(Handoff.status == status)
    found = list((await session.execute(query)).scalars())
    audit.record(
        session,
        context,
        at=now,
        action="handoff.list",
        subject_type="handoff",
        subject_id=None,
        outcome="ok",
        detail=f"status={status.value if status else 'any'}",
    )
    await session.commit()
    return found
