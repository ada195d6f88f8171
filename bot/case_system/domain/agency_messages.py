"""Messages the agency starts, by SMS: a reminder before each plan installment, a receipt for each
registered payment, a notice when a plan is broken, and notices about rights requests.

Each is written in the debtor's language from bot/case_system/data/message_templates.yml, queued
in the outbox as agency-initiated (it goes out inside the contact window only), suppressed for a
number that opted out, and keyed so that it is never queued twice (one per installment, payment,
breach or request). The debtor can answer: the SMS comes from the agency's number, and a reply
lands in the debtor's SMS conversation like any message they send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import InstallmentStatus, PaymentPlanStatus
from bot.case_system.domain import plan_tracking, sms
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.message_templates import render
from bot.case_system.domain.opening_hours import OpeningHours
from bot.case_system.domain.outbox import Queued, enqueue_agency_sms
from bot.case_system.domain.payment_plans import format_day, format_money
from bot.case_system.store.models import Case, PaymentPlan, PaymentRecord
from bot.config import Settings

REMINDER = "plan_installment_reminder"
RECEIPT = "payment_receipt"
BREACH = "payment_plan_broken"
RIGHTS_EXTENDED = "rights_request_extended"
RIGHTS_REFUSED = "rights_request_refused"


async def queue_sms(
    session: AsyncSession,
    *,
    phone: str,
    template: str,
    language: str,
    values: dict[str, str],
    key: str,
    now: datetime,
    hours: OpeningHours,
) -> Queued:
    """Render and queue one agency-initiated SMS (suppressed when the number opted out)."""
    return await enqueue_agency_sms(
        session,
        to_phone=phone,
        body=render(template, language, **values),
        purpose=template,
        idempotency_key=key,
        now=now,
        hours=hours,
        suppressed=await sms.is_opted_out(session, phone),
    )


def _planned(plan: PaymentPlan) -> list[plan_tracking.PlannedInstallment]:
    return [plan_tracking.PlannedInstallment(item.sequence, item.due_date, item.amount) for item in plan.installments]


def _case_values(case: Case, settings: Settings) -> dict[str, str]:
    return {
        "agency_name": settings.agency_name,
        "agency_phone": settings.agency_phone,
        "case_number": case.case_number,
        "creditor": case.creditor.name,
        "account_number": settings.agency_account_number,
        "kid": case.kid,
    }


@dataclass(frozen=True)
class PlanOutcome:
    reminders: int = 0  # reminders queued now
    broken: bool = False  # this call found the plan broken (and queued its notice)
    completed: bool = False


async def keep_plan(
    session: AsyncSession, plan: PaymentPlan, case: Case, *, now: datetime, settings: Settings, hours: OpeningHours
) -> PlanOutcome:
    """Bring an active plan up to date at `now`: installments covered by payments are paid, a fully
    paid plan is completed, a late installment breaks it (one notice), and due reminders are queued.

    `case` must have its payments, creditor and debtor loaded. Safe to run concurrently: the breach
    is claimed with a conditional UPDATE and every message has its own idempotency key."""
    today = oslo_date(now)
    planned = _planned(plan)
    paid = plan_tracking.paid_towards(
        oslo_date(plan.created_at), [(payment.paid_on, payment.amount) for payment in case.payments]
    )
    covered = plan_tracking.covered_sequences(planned, paid)
    for item in plan.installments:
        if item.sequence in covered:
            item.status = InstallmentStatus.PAID
    if len(covered) == len(planned):
        plan.status = PaymentPlanStatus.COMPLETED
        return PlanOutcome(completed=True)

    debtor = case.debtor
    language = debtor.language.value
    values = _case_values(case, settings)
    late = plan_tracking.first_breach(planned, covered, today=today, after_days=settings.plan_breach_after_days)
    if late is not None:
        claimed = await session.execute(
            sa.update(PaymentPlan)
            .where(PaymentPlan.id == plan.id, PaymentPlan.status == PaymentPlanStatus.ACTIVE)
            .values(status=PaymentPlanStatus.DEFAULTED)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return PlanOutcome()  # another replica found it first
        plan.status = PaymentPlanStatus.DEFAULTED
        for item in plan.installments:
            if item.sequence == late.sequence:
                item.status = InstallmentStatus.MISSED
        if debtor.phone:
            await queue_sms(
                session,
                phone=debtor.phone,
                template=BREACH,
                language=language,
                values={
                    **values,
                    "amount": format_money(late.amount, language),
                    "due_date": format_day(late.due_date, language),
                },
                key=f"{BREACH}:{plan.id}",
                now=now,
                hours=hours,
            )
        return PlanOutcome(broken=True)

    reminders = 0
    if debtor.phone:
        made_on = oslo_date(plan.created_at)
        for item in planned:
            if plan_tracking.reminder_due(
                item,
                covered=item.sequence in covered,
                plan_made_on=made_on,
                today=today,
                days_before=settings.plan_reminder_days_before,
            ):
                queued = await queue_sms(
                    session,
                    phone=debtor.phone,
                    template=REMINDER,
                    language=language,
                    values={
                        **values,
                        "amount": format_money(item.amount, language),
                        "due_date": format_day(item.due_date, language),
                    },
                    key=f"{REMINDER}:{plan.id}:{item.sequence}",
                    now=now,
                    hours=hours,
                )
                reminders += queued is not Queued.DUPLICATE
    return PlanOutcome(reminders=reminders)


async def queue_receipt(
    session: AsyncSession,
    case: Case,
    payment: PaymentRecord,
    *,
    balance: Decimal,
    now: datetime,
    settings: Settings,
    hours: OpeningHours,
) -> Optional[Queued]:
    """The receipt for a registered payment; None when the debtor has no phone number on file."""
    if not case.debtor.phone:
        return None
    language = case.debtor.language.value
    return await queue_sms(
        session,
        phone=case.debtor.phone,
        template=RECEIPT,
        language=language,
        values={
            **_case_values(case, settings),
            "amount": format_money(payment.amount, language),
            "paid_on": format_day(payment.paid_on, language),
            "balance": format_money(balance, language),
        },
        key=f"{RECEIPT}:{payment.id}",
        now=now,
        hours=hours,
    )


__all__ = ["BREACH", "RECEIPT", "REMINDER", "PlanOutcome", "keep_plan", "queue_receipt", "queue_sms", "render"]
