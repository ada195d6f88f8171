"""How a payment plan (nedbetalingsavtale) is kept: which installments the payments cover, which
reminders are due, and when a plan is broken. Plain functions over plain data.

- Payments made on or after the day a plan was made count towards it, and cover its installments
  in order (the first installment first), each only when paid in full.
- A reminder is due `days_before` days before an installment's due date, for an installment not
  yet covered, unless the plan was made after that day (its confirmation has just told the debtor).
- An installment paid on the next bank day after a due date on a weekend or holiday is in time
  (gjeldsbrevloven § 5), so the grace period before a plan counts as broken runs from that bank day:
  an installment due Saturday 27 March 2027 with 14 days' grace may be paid until Tuesday 13 April
  (next bank day Tuesday 30 March, after Easter, + 14 days); unpaid, the plan is broken on
  Wednesday 14 April. The grace period is the creditor's term (`PLAN_BREACH_AFTER_DAYS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable, Optional, Sequence

from bot.case_system.domain.bank_days import next_bank_day

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlannedInstallment:
    sequence: int
    due_date: date
    amount: Decimal


def covered_sequences(installments: Sequence[PlannedInstallment], paid: Decimal) -> frozenset[int]:
    """The installments `paid` (the sum paid towards the plan) covers in full, first one first."""
    covered, left = set(), paid
    for item in sorted(installments, key=lambda item: item.sequence):
        if left < item.amount:
            break
        covered.add(item.sequence)
        left -= item.amount
    return frozenset(covered)


def paid_towards(plan_made_on: date, payments: Iterable[tuple[date, Decimal]]) -> Decimal:
    """What was paid on or after the day the plan was made."""
    return sum((amount for paid_on, amount in payments if paid_on >= plan_made_on), ZERO)


def reminder_day(due_date: date, days_before: int) -> date:
    return due_date - timedelta(days=days_before)


def reminder_due(item: PlannedInstallment, *, covered: bool, plan_made_on: date, today: date, days_before: int) -> bool:
    """Whether an installment's reminder should be queued today."""
    day = reminder_day(item.due_date, days_before)
    return not covered and plan_made_on < day <= today < item.due_date


def breached_on(due_date: date, after_days: int) -> date:
    """The first day an unpaid installment breaks its plan: `after_days` after the due date, counted
    from the next bank day when it falls on a weekend or public holiday."""
    return next_bank_day(due_date) + timedelta(days=after_days + 1)


def first_breach(
    installments: Sequence[PlannedInstallment], covered: frozenset[int], *, today: date, after_days: int
) -> Optional[PlannedInstallment]:
    """The earliest uncovered installment that has broken the plan by `today`, if any."""
    for item in sorted(installments, key=lambda item: item.sequence):
        if item.sequence not in covered and today >= breached_on(item.due_date, after_days):
            return item
    return None
