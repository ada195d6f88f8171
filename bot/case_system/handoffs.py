"""Handoffs to a human caseworker: one active handoff per conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.models import ACTIVE_HANDOFF_STATUSES, Handoff, HandoffStatus

MAX_LISTED = 500


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
    handoff = Handoff(**fields, status=HandoffStatus.OPEN, created_at=now, updated_at=now)
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


async def list_handoffs(session: AsyncSession, *, status: Optional[HandoffStatus] = None) -> list[Handoff]:
    """Handoffs oldest first (the caseworkers' queue order), optionally of one status."""
    query = sa.select(Handoff).order_by(Handoff.created_at, Handoff.id).limit(MAX_LISTED)
    if status is not None:
        query = query.where(Handoff.status == status)
    return list((await session.execute(query)).scalars())
