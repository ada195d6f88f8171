"""Payment plan policy and quotes (nedbetalingsavtale), as plain functions over plain data.

A quote answers "can I pay this much a month / over this many months?" for one case:

- The plan covers the balance on the day of the quote plus any plan fee (etableringsgebyr) the
  creditor charges; the fee is part of the quote, so it is stated before the debtor accepts.
- Installments are monthly, in whole kroner; the last one takes the remainder. The first is due
  within `first_due_within_days` of the quote; every due date is moved to the next Norwegian bank
  day (and back to the previous one if that would break the first-due limit).
- Late-payment interest keeps running on the unpaid principal while the plan runs
  (forsinkelsesrenteloven § 2). The quote estimates it by applying the installments as payments
  (costs, then interest, then principal, as `claims.claim_statement` does) at today's rates.
- A proposal outside the policy is not rejected flatly: the quote names each broken limit and
  carries the nearest acceptable alternative, when there is one.

Input that is not a proposal at all (zero, negative or absurd amounts, dates in the past or years
away) raises `InvalidProposal`; the API turns it into a 422 and writes nothing.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Any, Optional, Sequence

import yaml

from bot.case_system.contract.fields import amount_problem
from bot.case_system.domain import DATA_DIR, message_templates
from bot.case_system.domain.bank_days import is_bank_day, next_bank_day
from bot.case_system.domain.claims import ClaimLine, Payment, claim_statement
from bot.case_system.domain.interest import RateTable, decimal_from_data

POLICY_PATH = DATA_DIR / "payment_plan_policy.yml"

ZERO = Decimal("0.00")
KRONE = Decimal("1")
MAX_MONTHS_ASKED = 600  # fifty years: anything above is not a proposal
MAX_DATE_AHEAD_DAYS = 366  # a first due date further away than a year is not a proposal
MIN_MONTHS = 2  # one installment is paying in full, not a plan


class InvalidProposal(ValueError):
    """A proposal that cannot be quoted at all; `field` names the input at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class PlanPolicy:
    """A creditor's limits for plans and postponements."""

    min_installment: Decimal
    max_months: int
    first_due_within_days: int
    plan_fee: Decimal
    max_postponement_days: int


@dataclass(frozen=True)
class PlanProposal:
    """What the debtor asked for; any part may be missing."""

    monthly_amount: Optional[Decimal] = None
    months: Optional[int] = None
    first_due_date: Optional[date] = None


@dataclass(frozen=True)
class ClaimFacts:
    """What a quote needs to know about the claim (from the case)."""

    principal: Decimal
    due_date: date
    fees: tuple[ClaimLine, ...]
    payments: tuple[Payment, ...]


@dataclass(frozen=True)
class QuoteInstallment:
    sequence: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class PaymentPlanQuote:
    """Terms for one plan. `acceptable` is False when `problems` is not empty; `alternative` is the
    nearest acceptable plan in that case (None when there is none, e.g. a claim too small)."""

    balance: Decimal
    fee: Decimal
    total: Decimal  # balance + fee: what the installments add up to
    monthly_amount: Decimal
    months: int
    first_due_date: date
    installments: tuple[QuoteInstallment, ...]
    estimated_interest: Decimal  # interest expected to accrue while the plan runs
    interest_rate_percent: Optional[Decimal]  # the rate in force today
    interest_provisional: bool
    problems: tuple[str, ...] = ()
    alternative: Optional["PaymentPlanQuote"] = None

    @property
    def acceptable(self) -> bool:
        return not self.problems


# --- policy --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _creditor_overrides() -> dict[str, dict[str, Any]]:
    with open(POLICY_PATH, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    return {str(org): dict(values or {}) for org, values in (data.get("creditors") or {}).items()}


def default_policy(
    *,
    min_installment_kr: int,
    max_months: int,
    first_due_within_days: int,
    plan_fee_kr: int,
    max_postponement_days: int,
) -> PlanPolicy:
    """The configured defaults as a policy (integers from configuration, never floats)."""
    return PlanPolicy(
        min_installment=Decimal(min_installment_kr).quantize(ZERO),
        max_months=int(max_months),
        first_due_within_days=int(first_due_within_days),
        plan_fee=Decimal(plan_fee_kr).quantize(ZERO),
        max_postponement_days=int(max_postponement_days),
    )


def policy_for(creditor_org_number: str, defaults: PlanPolicy) -> PlanPolicy:
    """`defaults` with the creditor's overrides from the policy data file applied."""
    values = _creditor_overrides().get(creditor_org_number, {})
    changes: dict[str, Any] = {}
    if "min_installment" in values:
        changes["min_installment"] = decimal_from_data(values["min_installment"], "min_installment").quantize(ZERO)
    if "plan_fee" in values:
        changes["plan_fee"] = decimal_from_data(values["plan_fee"], "plan_fee").quantize(ZERO)
    for name in ("max_months", "first_due_within_days", "max_postponement_days"):
        if name in values:
            changes[name] = int(values[name])
    return replace(defaults, **changes)


# --- validation of raw input ---------------------------------------------------------------------


def check_amount(amount: Decimal, field_name: str = "monthly_amount") -> Decimal:
    """A positive amount in kroner with at most two decimals, below `MAX_AMOUNT` (the contract's
    rule for an amount, `contract.fields.amount_problem`)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"{field_name} must be a Decimal")
    problem = amount_problem(amount)
    if problem:
        raise InvalidProposal(field_name, problem)
    return amount.quantize(ZERO)


def check_proposal(proposal: PlanProposal, *, today: date) -> PlanProposal:
    """`proposal` when it can be quoted; `InvalidProposal` otherwise."""
    if proposal.monthly_amount is not None:
        check_amount(proposal.monthly_amount)
    if proposal.months is not None and not (1 <= proposal.months <= MAX_MONTHS_ASKED):
        raise InvalidProposal("months", f"must be between 1 and {MAX_MONTHS_ASKED}")
    if proposal.first_due_date is not None:
        if proposal.first_due_date < today:
            raise InvalidProposal("first_due_date", "must not be in the past")
        if proposal.first_due_date > today + timedelta(days=MAX_DATE_AHEAD_DAYS):
            raise InvalidProposal("first_due_date", "must be within a year")
    return proposal


# --- schedule arithmetic -------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def previous_bank_day(day: date) -> date:
    while not is_bank_day(day):
        day -= timedelta(days=1)
    return day


def first_due_date(requested: Optional[date], *, today: date, within_days: int) -> tuple[date, bool]:
    """The first installment's due date and whether the request was within the limit.

    Without a request: two weeks from today (time to receive the confirmation), capped at the
    limit. Always a bank day, and never after `today + within_days`.
    """
    latest = today + timedelta(days=within_days)
    wanted = requested if requested is not None else min(today + timedelta(days=14), latest)
    within = wanted <= latest
    wanted = min(wanted, latest)
    due = next_bank_day(wanted)
    if due > latest:
        due = previous_bank_day(wanted)
    return due, within


def schedule(total: Decimal, monthly: Decimal, first_due: date) -> tuple[QuoteInstallment, ...]:
    """Installments of `monthly` until `total` is paid; the last takes the remainder."""
    count = int((total / monthly).to_integral_value(rounding=ROUND_CEILING))
    installments = []
    for index in range(count):
        amount = monthly if index < count - 1 else total - monthly * (count - 1)
        installments.append(
            QuoteInstallment(sequence=index + 1, due_date=next_bank_day(add_months(first_due, index)), amount=amount)
        )
    return tuple(installments)


def _ceil_kroner(amount: Decimal) -> Decimal:
    return amount.to_integral_value(rounding=ROUND_CEILING).quantize(ZERO)


def _months_for(total: Decimal, monthly: Decimal) -> int:
    return int((total / monthly).to_integral_value(rounding=ROUND_CEILING))


# --- quotes --------------------------------------------------------------------------------------


def quote_plan(
    *,
    claim: ClaimFacts,
    balance: Decimal,
    proposal: PlanProposal,
    policy: PlanPolicy,
    today: date,
    rates: RateTable,
) -> PaymentPlanQuote:
    """The plan the proposal leads to under `policy`, with what breaks it and the nearest
    acceptable alternative. Raises `InvalidProposal` for input that cannot be quoted."""
    check_proposal(proposal, today=today)
    if balance <= 0:
        raise InvalidProposal("case", "has nothing left to pay")
    total = balance + policy.plan_fee
    first_due, first_due_ok = first_due_date(
        proposal.first_due_date, today=today, within_days=policy.first_due_within_days
    )
    problems: list[str] = []
    if not first_due_ok:
        problems.append("first_due_too_late")

    if proposal.monthly_amount is not None:
        monthly = proposal.monthly_amount
    elif proposal.months is not None:
        monthly = _ceil_kroner(total / proposal.months)
    else:
        # Nothing proposed: the longest plan the policy allows, so the installment is lowest.
        monthly = max(policy.min_installment, _ceil_kroner(total / policy.max_months))
    if monthly >= total:
        problems.append("covers_balance")
        monthly = total
    months = _months_for(total, monthly)
    if monthly < policy.min_installment:
        problems.append("installment_below_minimum")
    if months > policy.max_months:
        problems.append("too_many_months")

    quote = _build(claim, balance, policy.plan_fee, monthly, first_due, today, rates, tuple(problems))
    if quote.acceptable:
        return quote
    return replace(quote, alternative=_nearest_acceptable(claim, balance, monthly, first_due, policy, today, rates))


def _nearest_acceptable(
    claim: ClaimFacts,
    balance: Decimal,
    monthly: Decimal,
    first_due: date,
    policy: PlanPolicy,
    today: date,
    rates: RateTable,
) -> Optional[PaymentPlanQuote]:
    """The acceptable plan closest to `monthly`: raised to what the limits need, or lowered to
    leave at least two installments. None when no plan fits (the claim is below two minimums)."""
    total = balance + policy.plan_fee
    lowest = max(policy.min_installment, _ceil_kroner(total / policy.max_months))
    highest = _ceil_kroner(total / MIN_MONTHS)
    if _months_for(total, highest) < MIN_MONTHS:
        highest -= KRONE
    if lowest > highest or highest <= 0:
        return None
    nearest = min(max(monthly, lowest), highest)
    return _build(claim, balance, policy.plan_fee, nearest, first_due, today, rates, ())


def _build(
    claim: ClaimFacts,
    balance: Decimal,
    fee: Decimal,
    monthly: Decimal,
    first_due: date,
    today: date,
    rates: RateTable,
    problems: tuple[str, ...],
) -> PaymentPlanQuote:
    total = balance + fee
    installments = schedule(total, monthly, first_due)
    interest, provisional = estimate_interest(claim, installments, fee=fee, rates=rates)
    rate_today = rates.periods_between(today, today)
    return PaymentPlanQuote(
        balance=balance,
        fee=fee,
        total=total,
        monthly_amount=monthly,
        months=len(installments),
        first_due_date=first_due,
        installments=installments,
        estimated_interest=interest,
        interest_rate_percent=rate_today[0].rate_percent if rate_today else None,
        interest_provisional=provisional or bool(rate_today and rate_today[0].provisional),
        problems=problems,
    )


def estimate_interest(
    claim: ClaimFacts, installments: Sequence[QuoteInstallment], *, fee: Decimal, rates: RateTable
) -> tuple[Decimal, bool]:
    """Interest still owed after the last installment, if every installment is paid on time.

    The first installment pays the plan fee before anything else, so only the rest of it reaches
    the claim. Rates after the last sourced half-year are carried forward (provisional).
    """
    if not installments:
        return ZERO, False
    planned = [
        Payment(paid_on=item.due_date, amount=item.amount - (fee if item.sequence == 1 else ZERO))
        for item in installments
    ]
    statement = claim_statement(
        principal=claim.principal,
        due_date=claim.due_date,
        fees=claim.fees,
        payments=(*claim.payments, *[payment for payment in planned if payment.amount > 0]),
        as_of=installments[-1].due_date,
        rates=rates,
    )
    return statement.balance, statement.provisional_interest


# --- idempotency and confirmation ----------------------------------------------------------------


def idempotency_key(kind: str, conversation_id: str, case_number: str, *terms: object) -> str:
    """A key that is the same for a repeated request with the same terms in the same conversation."""
    text = "\x1f".join([kind, conversation_id, case_number, *(str(term) for term in terms)])
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:64]}"


def format_money(amount: Decimal, language: str) -> str:
    from babel.numbers import format_currency

    if language == "en":
        return format_currency(amount, "NOK", format="¤\u00a0#,##0.00", locale="en_GB", currency_digits=False)
    return format_currency(amount, "NOK", locale="nb_NO")


def format_day(day: date, language: str) -> str:
    return day.strftime("%d.%m.%Y") if language == "nb" else day.isoformat()


def confirmation_sms(
    *,
    language: str,
    case_number: str,
    creditor: str,
    installments: Sequence[tuple[date, Decimal]],
    account_number: str,
    kid: str,
    agency_phone: str,
) -> str:
    """The plan confirmation text from the nb/en template in `data/message_templates.yml`."""
    language = "en" if language == "en" else "nb"
    lines = "\n".join(f"{format_day(due, language)}: {format_money(amount, language)}" for due, amount in installments)
    return message_templates.render(
        "payment_plan_confirmation",
        language,
        case_number=case_number,
        creditor=creditor,
        schedule=lines,
        account_number=account_number,
        kid=kid,
        agency_phone=agency_phone,
    )


__all__ = [
    "ClaimFacts",
    "InvalidProposal",
    "PaymentPlanQuote",
    "PlanPolicy",
    "PlanProposal",
    "QuoteInstallment",
    "check_amount",
    "confirmation_sms",
    "default_policy",
    "idempotency_key",
    "policy_for",
    "quote_plan",
]
