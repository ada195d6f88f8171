"""Payment plans as the API offers them: quote, create on the debtor's acceptance, list.

The rules are payment_plans.py's; this module reads the case, applies them, writes, audits and
commits. Nothing is written when a request is refused: every refusal raises before the first
`add`, and the caller's session rolls back whatever was not committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.enums import (
    FEE_TYPES,
    CaseStatus,
    Channel,
    Confirmation,
    InstallmentStatus,
    Language,
    PaymentPlanStatus,
)
from bot.case_system.domain import audit, outbox, payment_plans, sms
from bot.case_system.domain.case_service import existing_case
from bot.case_system.domain.claims import Payment
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.interest import RateTable
from bot.case_system.domain.payment_plans import InvalidProposal, PaymentPlanQuote, PlanPolicy, PlanProposal
from bot.case_system.domain.statements import active_plan, case_statement
from bot.case_system.store.models import Case, Installment, PaymentPlan
from bot.config import Settings

CONFIRMATION_PURPOSE = "payment_plan_confirmation"


def require_collectable(case: Case) -> None:
    """Plans and postponements only for an open case that is not disputed."""
    if case.status is CaseStatus.CLOSED:
        raise errors.Conflict("case_closed", "The case is closed; there is nothing to pay.")
    if case.disputed or case.collection_stopped:
        raise errors.Conflict(
            "case_disputed", "The claim is disputed and collection is stopped; a caseworker handles it."
        )


def policy_of(settings: Settings, case: Case) -> PlanPolicy:
    defaults = payment_plans.default_policy(
        min_installment_kr=settings.plan_min_installment_kr,
        max_months=settings.plan_max_months,
        first_due_within_days=settings.plan_first_due_within_days,
        plan_fee_kr=settings.plan_fee_kr,
        max_postponement_days=settings.postponement_max_days,
    )
    return payment_plans.policy_for(case.creditor.org_number, defaults)


def checked_proposal(proposal: PlanProposal, *, today: date) -> PlanProposal:
    """`proposal` when it can be quoted at all; the API's 422 naming the field otherwise."""
    try:
        return payment_plans.check_proposal(proposal, today=today)
    except InvalidProposal as invalid:
        raise errors.validation_error(invalid.field, invalid.problem) from None


def _no_active_plan(case: Case) -> None:
    active = active_plan(case)
    if active is not None:
        raise errors.Conflict("active_plan_exists", "The case already has an active payment plan.", plan_id=active.id)


def _quote(
    case: Case, proposal: PlanProposal, *, policy: PlanPolicy, today: date, rates: RateTable
) -> PaymentPlanQuote:
    statement = case_statement(case, as_of=today, rates=rates)
    claim = payment_plans.ClaimFacts(
        principal=case.principal,
        due_date=case.due_date,
        fees=tuple(line for line in statement.lines if line.type in FEE_TYPES),
        payments=tuple(Payment(paid_on=p.paid_on, amount=p.amount) for p in case.payments),
    )
    try:
        return payment_plans.quote_plan(
            claim=claim, balance=statement.balance, proposal=proposal, policy=policy, today=today, rates=rates
        )
    except InvalidProposal as invalid:
        if invalid.field == "case":
            raise errors.Conflict("nothing_to_pay", "The case has no balance left to pay.") from None
        raise errors.validation_error(invalid.field, invalid.problem) from None


@dataclass(frozen=True)
class QuoteAnswer:
    quote: PaymentPlanQuote
    policy: PlanPolicy
    today: date


async def quote_payment_plan(
    session: AsyncSession,
    case_number: str,
    proposal: PlanProposal,
    *,
    now: datetime,
    settings: Settings,
    rates: RateTable,
    context: audit.AuditContext,
) -> QuoteAnswer:
    """Terms for a plan under the creditor's policy; writes nothing but an audit event."""
    today = oslo_date(now)
    proposal = checked_proposal(proposal, today=today)
    case = await existing_case(session, case_number)
    require_collectable(case)
    _no_active_plan(case)
    policy = policy_of(settings, case)
    quote = _quote(case, proposal, policy=policy, today=today, rates=rates)
    audit.record(
        session,
        context,
        at=now,
        action="payment_plan.quote",
        subject_type="case",
        subject_id=case_number,
        outcome="acceptable" if quote.acceptable else "outside_policy",
    )
    await session.commit()
    return QuoteAnswer(quote=quote, policy=policy, today=today)


@dataclass(frozen=True)
class CreatedPlan:
    plan: PaymentPlan
    confirmation: Confirmation
    created: bool  # False: the same acceptance was made before; that plan is returned


async def create_payment_plan(
    session: AsyncSession,
    case_number: str,
    proposal: PlanProposal,
    *,
    channel: Channel,
    conversation_id: str,
    language: Optional[Language],
    now: datetime,
    settings: Settings,
    rates: RateTable,
    context: audit.AuditContext,
) -> CreatedPlan:
    """The quoted plan, made on the debtor's acceptance, with its SMS confirmation queued in the
    same transaction. Idempotent per conversation, case and terms."""
    today = oslo_date(now)
    proposal = checked_proposal(proposal, today=today)
    case = await existing_case(session, case_number)
    key = payment_plans.idempotency_key(
        "plan", conversation_id, case_number, proposal.monthly_amount, proposal.months, proposal.first_due_date
    )
    existing = (
        await session.execute(sa.select(PaymentPlan).where(PaymentPlan.idempotency_key == key))
    ).scalar_one_or_none()
    if existing is not None and existing.case_id == case.id:
        # The same acceptance again (a retry, a double click): the plan made the first time.
        return CreatedPlan(plan=existing, confirmation=Confirmation.ALREADY_SENT, created=False)
    require_collectable(case)
    _no_active_plan(case)
    quote = _quote(case, proposal, policy=policy_of(settings, case), today=today, rates=rates)
    if not quote.acceptable:
        raise errors.ApiError(
            422,
            "outside_policy",
            "The proposal is outside the creditor's plan policy: " + ", ".join(quote.problems) + ".",
        )

    plan = PaymentPlan(
        case_id=case.id,
        status=PaymentPlanStatus.ACTIVE,
        monthly_amount=quote.monthly_amount,
        fee=quote.fee,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=key,
        created_at=now,
        installments=[
            Installment(
                sequence=item.sequence, due_date=item.due_date, amount=item.amount, status=InstallmentStatus.DUE
            )
            for item in quote.installments
        ],
    )
    session.add(plan)
    confirmation = Confirmation.NO_PHONE
    phone = case.debtor.phone
    if phone:
        opted_out = await sms.is_opted_out(session, phone)
        text = payment_plans.confirmation_sms(
            language=(language or case.debtor.language).value,
            case_number=case_number,
            creditor=case.creditor.name,
            installments=[(item.due_date, item.amount) for item in quote.installments],
            account_number=settings.agency_account_number,
            kid=case.kid,
            agency_phone=settings.agency_phone,
        )
        outbox.enqueue_sms(
            session, to_phone=phone, body=text, purpose=CONFIRMATION_PURPOSE, now=now, suppressed=opted_out
        )
        confirmation = Confirmation.SUPPRESSED if opted_out else Confirmation.QUEUED
    audit.record(
        session,
        context,
        at=now,
        action="payment_plan.create",
        subject_type="case",
        subject_id=case_number,
        outcome="created",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent identical request won (idempotency key or one-active-plan index).
        await session.rollback()
        raise errors.Conflict("active_plan_exists", "The case already has an active payment plan.") from None
    return CreatedPlan(plan=plan, confirmation=confirmation, created=True)


async def list_payment_plans(
    session: AsyncSession, case_number: str, *, now: datetime, context: audit.AuditContext
) -> list[PaymentPlan]:
    case = await existing_case(session, case_number)
    audit.record(
        session, context, at=now, action="payment_plan.list", subject_type="case", subject_id=case_number, outcome="ok"
    )
    await session.commit()
    return list(case.payment_plans)
