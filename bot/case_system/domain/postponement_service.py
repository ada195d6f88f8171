"""Postponing the payment deadline as the API offers it: the rule is postponements.py's; this
module reads the case, applies it, writes, audits and commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.enums import Channel, PostponementStatus
from bot.case_system.domain import audit, payment_plans
from bot.case_system.domain.case_service import existing_case
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.payment_plan_service import policy_of, require_collectable
from bot.case_system.domain.payment_plans import InvalidProposal
from bot.case_system.domain.postponements import decide_postponement
from bot.case_system.domain.statements import active_plan
from bot.case_system.store.models import Postponement
from bot.config import Settings

REFUSALS = {
    "already_postponed": "The case has already been postponed once; a caseworker can consider more.",
    "too_long": "The date is later than the assistant can grant; a caseworker can consider it.",
}


@dataclass(frozen=True)
class GrantedPostponement:
    postponement: Postponement
    case_number: str
    created: bool  # False: the same request was granted before


async def grant_postponement(
    session: AsyncSession,
    case_number: str,
    requested: date,
    *,
    channel: Channel,
    conversation_id: str,
    now: datetime,
    settings: Settings,
    context: audit.AuditContext,
) -> GrantedPostponement:
    """Once per case, up to the policy's number of days; anything else is a 409 for a person."""
    today = oslo_date(now)
    case = await existing_case(session, case_number)
    key = payment_plans.idempotency_key("postponement", conversation_id, case_number, requested)
    query = sa.select(Postponement).where(
        Postponement.case_id == case.id, Postponement.status == PostponementStatus.GRANTED
    )
    granted = list((await session.execute(query)).scalars())
    repeat = next((item for item in granted if item.idempotency_key == key), None)
    if repeat is not None:
        return GrantedPostponement(repeat, case_number, created=False)
    require_collectable(case)
    if active_plan(case) is not None:
        raise errors.Conflict("active_plan_exists", "The case has an active payment plan; its dates apply.")
    policy = policy_of(settings, case)
    try:
        decision = decide_postponement(
            requested, today=today, max_days=policy.max_postponement_days, already_postponed=bool(granted)
        )
    except InvalidProposal as invalid:
        raise errors.validation_error(invalid.field, invalid.problem) from None
    if not decision.granted:
        raise errors.Conflict(
            f"postponement_{decision.reason}",
            REFUSALS[decision.reason],
            latest_date=decision.latest_date.isoformat(),
            max_days=policy.max_postponement_days,
        )
    postponement = Postponement(
        case_id=case.id,
        new_due_date=decision.new_due_date,
        fee=Decimal("0.00"),
        status=PostponementStatus.GRANTED,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=key,
        created_at=now,
    )
    session.add(postponement)
    audit.record(
        session,
        context,
        at=now,
        action="postponement.create",
        subject_type="case",
        subject_id=case_number,
        outcome="granted",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    await session.commit()
    return GrantedPostponement(postponement, case_number, created=True)
