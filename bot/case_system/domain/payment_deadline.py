"""What a debtor must pay, and by when, as a plain function over plain data.

The first that applies, in this order:

1. Nothing to pay (the case is closed or its balance is zero): no date.
2. Collection is stopped (the claim is disputed): no date; the debtor is not asked to pay by one.
3. An active payment plan: its next unpaid installment, due date and amount.
4. A granted postponement (betalingsutsettelse): its new due date, and the balance.
5. Legal collection (rettslig inndriving): no date; our letters' deadlines are behind the case.
6. A letter of the current stage (inkassovarsel or betalingsoppfordring) on record: the deadline
   printed in it, as printed (the letter's deadline is what the letter said), and the balance.
7. Otherwise no date: the case system does not know what the letter said.

`notice_deadline` gives the legal minimum a letter's printed deadline must respect (the stage's
days in `data/notice_deadlines.yml`, moved to the next bank day); it is used to write letters
(the demo data) and to check them, never to tell a debtor a date their letter did not give.

`passed` says whether the date is before `today` (on the date itself there is still time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional, Sequence

import yaml

from bot.case_system.contract.enums import CaseStage, PayByBasis
from bot.case_system.domain import DATA_DIR
from bot.case_system.domain.bank_days import next_bank_day

DATA_PATH = DATA_DIR / "notice_deadlines.yml"

ZERO = Decimal("0.00")


# Bases whose amount is the whole balance, which grows with interest until the date.
BALANCE_BASES = frozenset({PayByBasis.POSTPONEMENT, PayByBasis.NOTICE})


@dataclass(frozen=True)
class DueInstallment:
    """An installment of the active plan not yet paid (due or missed)."""

    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class PayBy:
    """The date to pay by (None when there is none, `basis` says why) and the amount due then."""

    date: Optional[date]
    amount: Decimal
    basis: PayByBasis
    passed: bool = False


@dataclass(frozen=True)
class StageDeadline:
    days: int
    source: str


@lru_cache(maxsize=1)
def _stage_deadlines() -> dict[CaseStage, StageDeadline]:
    with open(DATA_PATH, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    deadlines = {}
    for stage, entry in data["stages"].items():
        days = entry["days"]
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            raise ValueError(f"days for {stage} must be a positive whole number")
        deadlines[CaseStage(stage)] = StageDeadline(days=days, source=entry["source"])
    return deadlines


def stage_deadline(stage: CaseStage) -> Optional[StageDeadline]:
    """The deadline rule of a stage's letter, with its source; None for a stage without one."""
    return _stage_deadlines().get(CaseStage(stage))


def notice_deadline(stage: CaseStage, notice_sent_on: date) -> Optional[date]:
    """The last day to pay under the letter of `stage` sent on `notice_sent_on`: the stage's days
    later, or the next bank day after that. None for a stage whose letters carry no deadline."""
    rule = stage_deadline(stage)
    if rule is None:
        return None
    return next_bank_day(notice_sent_on + timedelta(days=rule.days))


def pay_by(
    *,
    stage: CaseStage,
    balance: Decimal,
    today: date,
    printed_deadline: Optional[date] = None,
    unpaid_installments: Sequence[DueInstallment] = (),
    postponed_to: Optional[date] = None,
    collection_stopped: bool = False,
    closed: bool = False,
) -> PayBy:
    """The date to pay by and the amount, from a case's facts (see the module's docstring).

    `printed_deadline` is the deadline printed in the current stage's letter, if one is on record;
    `unpaid_installments` are those of the active plan, if there is one.
    """
    if not isinstance(balance, Decimal):
        raise TypeError("balance must be a Decimal")
    if closed or balance <= 0:
        return PayBy(None, max(balance, ZERO), PayByBasis.NONE)
    if collection_stopped:
        return PayBy(None, balance, PayByBasis.COLLECTION_STOPPED)
    if unpaid_installments:
        following = min(unpaid_installments, key=lambda installment: installment.due_date)
        return _dated(following.due_date, following.amount, PayByBasis.PAYMENT_PLAN, today)
    if postponed_to is not None:
        return _dated(postponed_to, balance, PayByBasis.POSTPONEMENT, today)
    if CaseStage(stage) is CaseStage.LEGAL_COLLECTION:
        return PayBy(None, balance, PayByBasis.LEGAL_COLLECTION)
    if printed_deadline is None:
        return PayBy(None, balance, PayByBasis.NONE)
    return _dated(printed_deadline, balance, PayByBasis.NOTICE, today)


def _dated(day: date, amount: Decimal, basis: PayByBasis, today: date) -> PayBy:
    return PayBy(day, amount, basis, passed=day < today)
