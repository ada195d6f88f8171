"""What the console's pages read, in a fixed number of queries whatever the queue's length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.case_system.contract.enums import ACTIVE_HANDOFF_STATUSES, HandoffPriority, VerificationOutcome
from bot.case_system.domain import audit
from bot.case_system.domain.verification import AUDIT_ACTION as VERIFY_ACTION
from bot.case_system.store.models import AuditEvent, Dispute, Handoff, RightsRequest

MAX_QUEUE = 500


@dataclass(frozen=True)
class QueueRow:
    handoff: Handoff
    verified: bool
    waiting_minutes: int
    sla_state: str  # ok, near, over


async def queue(session: AsyncSession, *, now: datetime, sla: timedelta, context: audit.AuditContext) -> list[QueueRow]:
    """Open and taken handoffs, high priority first, then oldest first; the read is audited."""
    urgency = sa.case((Handoff.priority == HandoffPriority.HIGH, 0), else_=1)
    query = (
        sa.select(Handoff)
        .where(Handoff.status.in_(ACTIVE_HANDOFF_STATUSES))
        .options(selectinload(Handoff.taken_by))
        .order_by(urgency, Handoff.created_at, Handoff.id)
        .limit(MAX_QUEUE)
    )
    handoffs = list((await session.execute(query)).scalars())
    methods = await verification_methods(session, [handoff.conversation_id for handoff in handoffs])
    audit.record(
        session,
        context,
        at=now,
        action="handoff.list",
        subject_type="handoff",
        subject_id=None,
        outcome="ok",
        detail="console_queue",
    )
    await session.commit()
    rows = []
    for handoff in handoffs:
        waited = max(now - handoff.created_at, timedelta(0))
        state = "over" if waited >= sla else "near" if waited >= sla / 2 else "ok"
        rows.append(QueueRow(handoff, handoff.conversation_id in methods, int(waited.total_seconds() // 60), state))
    return rows


async def verification_methods(session: AsyncSession, conversation_ids: list[str]) -> dict[str, str]:
    """How each conversation verified the debtor (the latest success), for those that did."""
    if not conversation_ids:
        return {}
    query = (
        sa.select(AuditEvent.conversation_id, AuditEvent.detail)
        .where(
            AuditEvent.action == VERIFY_ACTION,
            AuditEvent.outcome == VerificationOutcome.VERIFIED.value,
            AuditEvent.conversation_id.in_(conversation_ids),
        )
        .order_by(AuditEvent.id)
    )
    return {row.conversation_id: row.detail or "unknown" for row in await session.execute(query)}


async def disputes_of(session: AsyncSession, case_id: int) -> list[Dispute]:
    query = sa.select(Dispute).where(Dispute.case_id == case_id).order_by(Dispute.id)
    return list((await session.execute(query)).scalars())


async def rights_requests_of(session: AsyncSession, case_id: int) -> list[RightsRequest]:
    query = sa.select(RightsRequest).where(RightsRequest.case_id == case_id).order_by(RightsRequest.id)
    return list((await session.execute(query)).scalars())


def first_message_id(handoff: Handoff) -> Optional[int]:
    return handoff.messages[-1].id if handoff.messages else None
