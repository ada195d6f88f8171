"""Claim reconciliation: what a debtor owes as of a date, line by line, after payments.

Order in which payments are applied (dekningsrekkefølge): costs (fees) first, then accrued
late-payment interest, then principal, payment by payment in date order. Neither inkassoloven nor
forsinkelsesrenteloven sets this order, and we found no statute that does. The Ministry of
Justice's Legislation Department (Lovavdelingen, "Avdrag innbetalt i inkassosak", 19 August 1999,
https://www.regjeringen.no/no/dokumenter/avdrag-innbetalt-i-inkassosak/id443429/) says that for a
voluntary part payment the debtor may choose which item it reduces, and that the creditor chooses
when the debtor has not. This order is therefore the creditor's choice, applied when a payment
carries no instruction from the debtor; a payment the debtor earmarked needs handling by a person.

Interest accrues on the outstanding principal only (not on fees) from the day after the due date
up to and including `as_of`; a due date on a weekend or public holiday first moves to the next bank
day, on which payment is still in time (bank_days.payment_due_date, gjeldsbrevloven § 5). A
payment that reaches the principal lowers the base from the day after the payment.

Rounding: interest is rounded to øre (half up) once per principal level, when the stretch at that
level is closed by a payment or by `as_of` (interest.late_payment_interest); every other amount is
already in øre, so the lines, payments and balance reconcile to the øre.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Sequence

from bot.case_system.contract.enums import FEE_TYPES, LineType
from bot.case_system.domain.bank_days import payment_due_date
from bot.case_system.domain.interest import RateTable, day_after, late_payment_interest, to_ore

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ClaimLine:
    """One line of a claim.

    For a fee, `from_date` is the day it was charged (None: charged from the due date on). For
    interest, `from_date`..`to_date` (inclusive) is the stretch it covers at `rate_percent`.
    """

    type: LineType
    amount: Decimal
    description: str
    from_date: date | None = None
    to_date: date | None = None
    rate_percent: Decimal | None = None
    provisional: bool = False


@dataclass(frozen=True)
class Payment:
    """Money received from the debtor."""

    paid_on: date
    amount: Decimal


@dataclass(frozen=True)
class PaymentAllocation:
    """How one payment was applied; `unapplied` is what was left once everything due was paid."""

    paid_on: date
    amount: Decimal
    to_costs: Decimal
    to_interest: Decimal
    to_principal: Decimal
    unapplied: Decimal


@dataclass(frozen=True)
class ClaimStatement:
    """A claim as of a date.

    `balance` = `total_claimed` − `total_paid`, but never below zero; what was paid beyond the
    claim is `overpaid`. So `balance - overpaid` always equals `total_claimed - total_paid`.
    """

    lines: tuple[ClaimLine, ...]
    payments: tuple[Payment, ...]
    total_claimed: Decimal
    total_paid: Decimal
    balance: Decimal
    provisional_interest: bool
    overpaid: Decimal = ZERO
    allocations: tuple[PaymentAllocation, ...] = ()


def balance(lines: Iterable[ClaimLine], payments: Iterable[Payment]) -> Decimal:
    """Sum of the lines minus sum of the payments, exact (negative when overpaid)."""
    return sum((line.amount for line in lines), ZERO) - sum((payment.amount for payment in payments), ZERO)


def claim_statement(
    *,
    principal: Decimal,
    due_date: date,
    fees: Sequence[ClaimLine],
    payments: Sequence[Payment],
    as_of: date,
    rates: RateTable,
    principal_description: str = "",
) -> ClaimStatement:
    """The claim's lines (principal, fees, interest per principal level and rate period),
    payments and balance as they stood on `as_of`.

    Payments made and fees charged after `as_of` did not exist on that day, so they are not part
    of the statement.
    """
    _require_money(principal, "principal")
    for fee in fees:
        if fee.type not in FEE_TYPES:
            raise ValueError(f"{fee.type.value} is not a fee line")
        _require_money(fee.amount, "fee amount")
    for payment in payments:
        _require_money(payment.amount, "payment amount")

    charged_fees = [fee for fee in fees if (fee.from_date or due_date) <= as_of]
    ordered_payments = tuple(
        sorted(
            (payment for payment in payments if payment.paid_on <= as_of),
            key=lambda payment: payment.paid_on,
        )
    )
    interest_lines: list[ClaimLine] = []
    allocations: list[PaymentAllocation] = []

    outstanding_principal = principal
    accrual_start = day_after(payment_due_date(due_date))  # first day of the open interest stretch
    interest_closed = ZERO  # interest on stretches already turned into lines
    costs_paid = ZERO
    interest_paid = ZERO

    for payment in ordered_payments:
        # Interest owed on the payment date: closed stretches plus the open one up to that day.
        accrued_open = late_payment_interest(outstanding_principal, accrual_start, payment.paid_on, rates).amount
        costs_due = _costs_charged_by(charged_fees, payment.paid_on, due_date) - costs_paid
        interest_due = interest_closed + accrued_open - interest_paid

        remaining = payment.amount
        to_costs = min(remaining, costs_due)
        remaining -= to_costs
        to_interest = min(remaining, interest_due)
        remaining -= to_interest
        to_principal = min(remaining, outstanding_principal)
        remaining -= to_principal
        costs_paid += to_costs
        interest_paid += to_interest
        allocations.append(
            PaymentAllocation(
                paid_on=payment.paid_on,
                amount=payment.amount,
                to_costs=to_costs,
                to_interest=to_interest,
                to_principal=to_principal,
                unapplied=remaining,
            )
        )

        if to_principal > 0:
            # The base changes: close the open stretch at the payment date and start a new one.
            closed = _interest_lines(outstanding_principal, accrual_start, payment.paid_on, rates)
            interest_lines.extend(closed)
            interest_closed += sum((line.amount for line in closed), ZERO)
            outstanding_principal -= to_principal
            accrual_start = max(accrual_start, day_after(payment.paid_on))

    interest_lines.extend(_interest_lines(outstanding_principal, accrual_start, as_of, rates))

    principal_line = ClaimLine(type=LineType.PRINCIPAL, amount=principal, description=principal_description)
    lines = (principal_line, *charged_fees, *interest_lines)
    total_claimed = sum((line.amount for line in lines), ZERO)
    total_paid = sum((payment.amount for payment in ordered_payments), ZERO)
    difference = balance(lines, ordered_payments)
    return ClaimStatement(
        lines=lines,
        payments=ordered_payments,
        total_claimed=total_claimed,
        total_paid=total_paid,
        balance=max(difference, ZERO),
        provisional_interest=any(line.provisional for line in interest_lines),
        overpaid=max(-difference, ZERO),
        allocations=tuple(allocations),
    )


def _interest_lines(principal: Decimal, first_day: date, last_day: date, rates: RateTable) -> list[ClaimLine]:
    """Interest lines, one per rate period, for one principal level over one stretch."""
    result = late_payment_interest(principal, first_day, last_day, rates)
    return [
        ClaimLine(
            type=LineType.LATE_PAYMENT_INTEREST,
            amount=period.amount,
            description=f"{period.rate_percent} % p.a. on {to_ore(principal)}",
            from_date=period.start,
            to_date=period.end,
            rate_percent=period.rate_percent,
            provisional=period.provisional,
        )
        for period in result.periods
    ]


def _costs_charged_by(fees: Sequence[ClaimLine], day: date, due_date: date) -> Decimal:
    """Fees charged on or before `day` (a fee without a date counts from the due date)."""
    return sum(
        (fee.amount for fee in fees if (fee.from_date or due_date) <= day),
        ZERO,
    )


def _require_money(amount: object, what: str) -> None:
    if not isinstance(amount, Decimal):
        raise TypeError(f"{what} must be a Decimal")
    if amount < 0:
        raise ValueError(f"{what} must not be negative")
