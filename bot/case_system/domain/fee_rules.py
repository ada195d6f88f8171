"""When a fee may be charged at all, beyond its amount: inkassoforskriften §§ 1-2 and 1-3 and
inkassoloven §§ 9 and 17, with their sources in `data/collection_fees.yml` (`fee_conditions`).

A fee that breaks a rule may not be charged, so its cap is 0.00 and the whole fee is an excess;
a collection fee whose heavy-rate conditions are not met is capped at the light rate. Either way
the fee is flagged (`FeeCheck.over_cap`) and goes to a caseworker the way a fee above its cap does.
Nothing here decides against the debtor: a fact the case system lacks (a letter not on record)
counts as the condition not shown, which sends the fee to a person.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional, Sequence

import yaml

from bot.case_system.contract.enums import FeeBreach, LineType, NoticeKind
from bot.case_system.domain import fees
from bot.case_system.domain.bank_days import payment_due_date
from bot.case_system.domain.claims import ClaimLine, Payment, claim_statement
from bot.case_system.domain.interest import RateTable

ZERO = Decimal("0.00")
NOTICE_FEES = frozenset({LineType.REMINDER_FEE, LineType.COLLECTION_NOTICE_FEE})


@dataclass(frozen=True)
class NoticeFacts:
    """A letter sent about the case, with the deadline printed in it."""

    kind: NoticeKind
    sent_on: date
    deadline: date


@dataclass(frozen=True)
class CaseFeeFacts:
    """What the fee rules need to know about a case."""

    principal: Decimal
    due_date: date
    notices: Sequence[NoticeFacts] = ()
    objections_received_on: Sequence[date] = ()  # days disputes were registered (Oslo dates)
    payments: Sequence[Payment] = ()


@dataclass(frozen=True)
class _Conditions:
    earliest_days_after_due: int
    max_reminder_fees: int
    max_reminder_fees_with_notice_fee: int
    max_collection_notice_fees: int
    first_reminder_min_deadline_days: int
    collection_notice_min_deadline_days: int
    sources: dict[FeeBreach, str]


@lru_cache(maxsize=1)
def _conditions() -> _Conditions:
    with open(fees.DEFAULT_PATH, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)["fee_conditions"]

    def days(name: str) -> int:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"fee_conditions.{name} must be a whole number")
        return value

    return _Conditions(
        earliest_days_after_due=days("notice_fee_earliest_days_after_due"),
        max_reminder_fees=days("max_reminder_fees"),
        max_reminder_fees_with_notice_fee=days("max_reminder_fees_with_collection_notice_fee"),
        max_collection_notice_fees=days("max_collection_notice_fees"),
        first_reminder_min_deadline_days=days("first_reminder_min_deadline_days"),
        collection_notice_min_deadline_days=days("collection_notice_min_deadline_days"),
        sources={
            FeeBreach.TOO_EARLY: data["notice_fee_source"],
            FeeBreach.COMBINATION: data["combination_source"],
            FeeBreach.FIRST_REMINDER_DEADLINE: data["combination_source"],
            FeeBreach.NO_EXPIRED_COLLECTION_NOTICE: data["collection_fee_source"],
            FeeBreach.PAID_WITHIN_COLLECTION_NOTICE: data["collection_fee_source"],
            FeeBreach.OBJECTION_BEFORE_FEE: data["objection_source"],
            FeeBreach.HEAVY_FEE_CONDITIONS: data["heavy_fee_source"],
        },
    )


def review_case_fees(
    fee_lines: Sequence[ClaimLine], facts: CaseFeeFacts, rates: RateTable
) -> list[Optional[fees.FeeCheck]]:
    """Each fee line checked against its cap and the rules on when it may be charged at all
    (None for a line no cap on record covers and no rule flags)."""
    ordered = sorted(fee_lines, key=lambda line: line.from_date or facts.due_date)
    checks = {id(line): _review(line, ordered, facts, rates) for line in fee_lines}
    return [checks[id(line)] for line in fee_lines]


def _review(
    line: ClaimLine, ordered: Sequence[ClaimLine], facts: CaseFeeFacts, rates: RateTable
) -> Optional[fees.FeeCheck]:
    charged_on = line.from_date or facts.due_date
    breaches = _timing_and_combination(line, charged_on, ordered, facts)
    if line.type is LineType.COLLECTION_FEE:
        breaches += _collection_fee(charged_on, facts, rates)
    if any(received_on <= charged_on for received_on in facts.objections_received_on):
        breaches.append(FeeBreach.OBJECTION_BEFORE_FEE)
    heavy = line.type is LineType.COLLECTION_FEE and _payment_demand_overrun(charged_on, facts, rates)
    try:
        check = fees.check_fee(line.type, line.amount, principal=facts.principal, charged_on=charged_on, heavy=heavy)
    except LookupError:
        check = None
    if breaches:
        # Not chargeable at all: the lawful amount is nothing.
        sources = "; ".join(dict.fromkeys(_conditions().sources[breach] for breach in breaches))
        return fees.FeeCheck(
            line_type=line.type,
            amount=line.amount,
            cap=ZERO,
            over_cap=line.amount > ZERO,
            source=sources if check is None else f"{sources}; {check.source}",
            provisional=False if check is None else check.provisional,
            breaches=tuple(dict.fromkeys(breaches)),
        )
    if check is not None and check.over_cap and not heavy and line.type is LineType.COLLECTION_FEE:
        heavy_cap = fees.collection_fee_cap(facts.principal, charged_on, heavy=True)
        if line.amount <= heavy_cap:  # a heavy fee charged without its conditions
            return dataclasses.replace(
                check,
                breaches=(FeeBreach.HEAVY_FEE_CONDITIONS,),
                source=f"{check.source}; {_conditions().sources[FeeBreach.HEAVY_FEE_CONDITIONS]}",
            )
    return check


def _timing_and_combination(
    line: ClaimLine, charged_on: date, ordered: Sequence[ClaimLine], facts: CaseFeeFacts
) -> list[FeeBreach]:
    """§ 1-2 (14 days after the due date) and § 1-3 (which letters may carry fees)."""
    if line.type not in NOTICE_FEES:
        return []
    rules = _conditions()
    breaches = []
    if charged_on < payment_due_date(facts.due_date) + timedelta(days=rules.earliest_days_after_due):
        breaches.append(FeeBreach.TOO_EARLY)
    reminders = [fee for fee in ordered if fee.type is LineType.REMINDER_FEE]
    notices = [fee for fee in ordered if fee.type is LineType.COLLECTION_NOTICE_FEE]
    if line.type is LineType.REMINDER_FEE:
        position = _position(line, reminders)
        allowed = rules.max_reminder_fees_with_notice_fee if notices else rules.max_reminder_fees
        reminder_after_notice = any(_position(fee, ordered) < _position(line, ordered) for fee in notices)
        if position >= allowed or reminder_after_notice:
            breaches.append(FeeBreach.COMBINATION)
        second_fee = position == 1
    else:
        position = _position(line, notices)
        if position >= rules.max_collection_notice_fees or len(reminders) > rules.max_reminder_fees_with_notice_fee:
            breaches.append(FeeBreach.COMBINATION)
        second_fee = bool(reminders) and _position(reminders[0], ordered) < _position(line, ordered)
    if second_fee and not _first_reminder_overrun(reminders[0], charged_on, facts):
        breaches.append(FeeBreach.FIRST_REMINDER_DEADLINE)
    return breaches


def _first_reminder_overrun(first: ClaimLine, second_sent_on: date, facts: CaseFeeFacts) -> bool:
    """Whether the first reminder gave at least 14 days and they ran out before the second letter."""
    sent_on = first.from_date or facts.due_date
    letter = next(
        (notice for notice in facts.notices if notice.kind is NoticeKind.REMINDER and notice.sent_on == sent_on), None
    )
    if letter is None:
        return False
    long_enough = letter.deadline >= letter.sent_on + timedelta(days=_conditions().first_reminder_min_deadline_days)
    return long_enough and letter.deadline < second_sent_on


def _collection_fee(charged_on: date, facts: CaseFeeFacts, rates: RateTable) -> list[FeeBreach]:
    """Inkassoloven §§ 9 and 17: a collection notice giving at least 14 days, run out unpaid."""
    minimum = timedelta(days=_conditions().collection_notice_min_deadline_days)
    expired = [
        notice
        for notice in facts.notices
        if notice.kind is NoticeKind.COLLECTION_NOTICE
        and notice.deadline >= notice.sent_on + minimum
        and notice.deadline < charged_on
    ]
    if not expired:
        return [FeeBreach.NO_EXPIRED_COLLECTION_NOTICE]
    if all(_paid_by(notice.deadline, facts, rates) for notice in expired):
        return [FeeBreach.PAID_WITHIN_COLLECTION_NOTICE]
    return []


def _payment_demand_overrun(charged_on: date, facts: CaseFeeFacts, rates: RateTable) -> bool:
    """Tungt salær: a payment demand whose deadline ran out unpaid before the fee was charged."""
    return any(
        notice.kind is NoticeKind.PAYMENT_DEMAND
        and notice.deadline < charged_on
        and not _paid_by(notice.deadline, facts, rates)
        for notice in facts.notices
    )


def _paid_by(day: date, facts: CaseFeeFacts, rates: RateTable) -> bool:
    """Whether principal and interest as they stood on `day` were paid in full by then (fees left
    out: a debtor who paid the main claim in time is not charged a collection fee over a fee)."""
    statement = claim_statement(
        principal=facts.principal,
        due_date=facts.due_date,
        fees=(),
        payments=list(facts.payments),
        as_of=day,
        rates=rates,
    )
    return statement.balance == ZERO


def _position(line: ClaimLine, lines: Sequence[ClaimLine]) -> int:
    return next(index for index, item in enumerate(lines) if item is line)
