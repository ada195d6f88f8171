"""A stored case read through the rules: its claim on a day, its fees against their caps, its
active plan, and what to pay by when. Used by the case read, fee reviews, plans and data exports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Optional

from bot.case_system.contract.enums import (
    FEE_TYPES,
    CaseStage,
    CaseStatus,
    InstallmentStatus,
    NoticeKind,
    PaymentPlanStatus,
    PostponementStatus,
)
from bot.case_system.domain import fee_rules, fees, payment_deadline
from bot.case_system.domain.claims import ClaimLine, ClaimStatement, Payment, claim_statement
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.interest import RateTable
from bot.case_system.store.models import Case, Notice, PaymentPlan

# The letter of each out-of-court stage, whose printed deadline the assistant quotes.
STAGE_NOTICE = {
    CaseStage.INKASSOVARSEL: NoticeKind.COLLECTION_NOTICE,
    CaseStage.BETALINGSOPPFORDRING: NoticeKind.PAYMENT_DEMAND,
}


@dataclass(frozen=True)
class CaseFigures:
    """A case as of `as_of`: the statement, each line's fee check (None for a line that is not a
    fee or that no cap on record covers), the active plan and the date to pay by."""

    case: Case
    as_of: date
    statement: ClaimStatement
    fee_checks: tuple[Optional[fees.FeeCheck], ...]
    open_plan: Optional[PaymentPlan]
    pay_by: payment_deadline.PayBy

    @property
    def fees_over_cap(self) -> list[tuple[ClaimLine, fees.FeeCheck]]:
        return [
            (line, check)
            for line, check in zip(self.statement.lines, self.fee_checks)
            if check is not None and check.over_cap
        ]


def statement_date(case: Case, today: date) -> date:
    """The date a case's claim is computed at: today, or the day a closed case was closed."""
    if case.status is CaseStatus.CLOSED and case.closed_on is not None:
        return min(today, case.closed_on)
    return today


def case_statement(case: Case, *, as_of: date, rates: RateTable) -> ClaimStatement:
    """The claim of `case` on `as_of`: principal, interest computed now, fees and payments."""
    fee_lines = [
        ClaimLine(type=line.line_type, amount=line.amount, description=line.description, from_date=line.charged_on)
        for line in case.claim_lines
    ]
    payments = [Payment(paid_on=payment.paid_on, amount=payment.amount) for payment in case.payments]
    return claim_statement(
        principal=case.principal,
        due_date=case.due_date,
        fees=fee_lines,
        payments=payments,
        as_of=as_of,
        rates=rates,
        principal_description=case.description,
    )


def stage_notice(case: Case) -> Optional[Notice]:
    """The latest letter of the case's current stage on record, if any."""
    kind = STAGE_NOTICE.get(case.stage)
    letters = [notice for notice in case.notices if notice.kind is kind]
    return max(letters, key=lambda notice: (notice.sent_on, notice.id or 0), default=None)


def fee_facts(case: Case) -> fee_rules.CaseFeeFacts:
    """What the fee rules need from a stored case."""
    return fee_rules.CaseFeeFacts(
        principal=case.principal,
        due_date=case.due_date,
        notices=tuple(
            fee_rules.NoticeFacts(kind=notice.kind, sent_on=notice.sent_on, deadline=notice.deadline)
            for notice in case.notices
        ),
        objections_received_on=tuple(oslo_date(dispute.received_at) for dispute in case.disputes),
        payments=tuple(Payment(paid_on=payment.paid_on, amount=payment.amount) for payment in case.payments),
    )


def active_plan(case: Case) -> Optional[PaymentPlan]:
    return next((plan for plan in case.payment_plans if plan.status is PaymentPlanStatus.ACTIVE), None)


def case_pay_by(case: Case, statement: ClaimStatement, *, today: date, rates: RateTable) -> payment_deadline.PayBy:
    """What the debtor must pay on `case`, and by when (payment_deadline.pay_by).

    Interest runs until the claim is paid, so a balance to be paid by a later date is the claim
    as it will stand on that date: paying exactly that amount on the date settles the case.
    """
    plan = active_plan(case)
    unpaid = (
        ()
        if plan is None
        else tuple(
            payment_deadline.DueInstallment(due_date=item.due_date, amount=item.amount)
            for item in plan.installments
            if item.status is not InstallmentStatus.PAID
        )
    )
    granted = [item for item in case.postponements if item.status is PostponementStatus.GRANTED]
    letter = stage_notice(case)
    pay_by = payment_deadline.pay_by(
        stage=case.stage,
        balance=statement.balance,
        today=today,
        printed_deadline=None if letter is None else letter.deadline,
        unpaid_installments=unpaid,
        postponed_to=granted[-1].new_due_date if granted else None,
        collection_stopped=case.disputed or case.collection_stopped,
        closed=case.status is CaseStatus.CLOSED,
    )
    if pay_by.basis in payment_deadline.BALANCE_BASES and pay_by.date is not None and pay_by.date > today:
        pay_by = dataclasses.replace(pay_by, amount=case_statement(case, as_of=pay_by.date, rates=rates).balance)
    return pay_by


def case_figures(case: Case, *, today: date, rates: RateTable) -> CaseFigures:
    """Everything the rules say about `case` on `today` (a closed case: on the day it closed)."""
    as_of = statement_date(case, today)
    statement = case_statement(case, as_of=as_of, rates=rates)
    fee_lines = [line for line in statement.lines if line.type in FEE_TYPES]
    # Caps, and the rules on when a fee may be charged at all; either kind of breach is flagged.
    checks = fee_rules.review_case_fees(fee_lines, fee_facts(case), rates)
    check_of = {id(line): check for line, check in zip(fee_lines, checks)}
    return CaseFigures(
        case=case,
        as_of=as_of,
        statement=statement,
        fee_checks=tuple(check_of.get(id(line)) for line in statement.lines),
        open_plan=active_plan(case),
        # as_of is today for an open case; a closed one has nothing to pay by any day.
        pay_by=case_pay_by(case, statement, today=as_of, rates=rates),
    )
