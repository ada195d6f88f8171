"""Postponement of the payment deadline (betalingsutsettelse): the rule, as a plain function.

Once per case, to a date at most `max_days` after the request, moved to the next Norwegian bank
day when it falls on a weekend or holiday (or back to the previous one when moving forward would
pass the limit). Interest keeps running meanwhile; a postponement only moves the deadline.
Anything longer is for a caseworker, who can weigh the debtor's situation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from bot.case_system.domain.bank_days import next_bank_day
from bot.case_system.domain.payment_plans import MAX_DATE_AHEAD_DAYS, InvalidProposal, previous_bank_day


@dataclass(frozen=True)
class PostponementDecision:
    """`granted` with the confirmed `new_due_date`, or why not (`reason`) and the latest date the
    policy allows (`latest_date`)."""

    granted: bool
    new_due_date: Optional[date]
    latest_date: date
    reason: Optional[str] = None  # too_long | already_postponed


def decide_postponement(
    requested: date, *, today: date, max_days: int, already_postponed: bool
) -> PostponementDecision:
    """Whether a postponement to `requested` can be granted by the assistant."""
    if requested <= today:
        raise InvalidProposal("new_due_date", "must be after today")
    if requested > today + timedelta(days=MAX_DATE_AHEAD_DAYS):
        raise InvalidProposal("new_due_date", "must be within a year")
    limit = today + timedelta(days=max_days)
    latest = previous_bank_day(limit)
    if already_postponed:
        return PostponementDecision(False, None, latest, "already_postponed")
    if requested > limit:
        return PostponementDecision(False, None, latest, "too_long")
    new_due = next_bank_day(requested)
    if new_due > limit:
        new_due = previous_bank_day(requested)
    if new_due <= today:  # a limit of a day or two over a holiday: nothing to grant
        return PostponementDecision(False, None, latest, "too_long")
    return PostponementDecision(True, new_due, latest)
