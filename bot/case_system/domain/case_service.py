"""Reading a case, and sending its fees for review: the use cases behind `/cases/{case_number}`
and `/cases/{case_number}/fee-reviews`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.enums import Channel
from bot.case_system.domain import audit
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.interest import RateTable
from bot.case_system.domain.statements import CaseFigures, case_figures
from bot.case_system.store import queries
from bot.case_system.store.models import Case


async def existing_case(session: AsyncSession, case_number: str) -> Case:
    """The case with everything its statement needs, or the API's `case_not_found`."""
    case = await queries.load_case(session, case_number)
    if case is None:
        raise errors.case_not_found()
    return case


async def read_case(
    session: AsyncSession, case_number: str, *, now: datetime, rates: RateTable, context: audit.AuditContext
) -> CaseFigures:
    """The case with its claim computed today; the read is audited."""
    case = await existing_case(session, case_number)
    figures = case_figures(case, today=oslo_date(now), rates=rates)
    audit.record(
        session, context, at=now, action="case.read", subject_type="case", subject_id=case.case_number, outcome="ok"
    )
    await session.commit()
    return figures


@dataclass(frozen=True)
class FeeReview:
    figures: CaseFigures
    requested_at: datetime
    created: bool  # False: the case had already been sent for review


async def request_fee_review(
    session: AsyncSession,
    case_number: str,
    *,
    channel: Channel,
    conversation_id: str,
    now: datetime,
    rates: RateTable,
    context: audit.AuditContext,
) -> FeeReview:
    """Flag a case whose fee is above its legal cap for a caseworker (a 409 when none is)."""
    case = await existing_case(session, case_number)
    figures = case_figures(case, today=oslo_date(now), rates=rates)
    if not figures.fees_over_cap:
        raise errors.Conflict("no_fee_over_cap", "No fee on the case is above its legal cap.")
    created = case.fee_review_requested_at is None
    if created:
        case.fee_review_requested_at = now
    audit.record(
        session,
        context,
        at=now,
        action="fee_review.create",
        subject_type="case",
        subject_id=case_number,
        outcome="flagged" if created else "already_flagged",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    await session.commit()
    return FeeReview(figures=figures, requested_at=case.fee_review_requested_at, created=created)
