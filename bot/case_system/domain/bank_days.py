"""Norwegian bank days: Monday to Friday, except public holidays and the days banks close.

Public holidays come from `holidays.Norway()`. It does not list Christmas Eve (24 December) or New
Year's Eve (31 December), which are not public holidays, so they are added here:

- 24 December: Norges Bank's settlement system (NBO) is closed (Norges Bank, "Settlement days",
  https://static.norges-bank.no/en/Liquidity-and-markets/Norges-Banks-settlement-system/Settlement-days/,
  the 2019 list, where 24 December was a Tuesday).
- 31 December: added on the project's instruction that banks are closed. That same NBO list does
  not name 31 December, and the bank notices we found show it closed only in years when it fell on
  a weekend. Treating it as closed moves bank-day deadlines later, the safe side for a debtor who
  must pay by one.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

BANK_CLOSED_DAYS = frozenset({(12, 24), (12, 31)})  # (month, day): julaften, nyttårsaften


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Norway(years=year))


def is_bank_day(day: date) -> bool:
    """Whether banks in Norway process payments on `day`."""
    return day.weekday() < 5 and (day.month, day.day) not in BANK_CLOSED_DAYS and day not in _public_holidays(day.year)


def next_bank_day(day: date) -> date:
    """`day` itself when it is a bank day, otherwise the first bank day after it."""
    while not is_bank_day(day):
        day += timedelta(days=1)
    return day


def payment_due_date(due_date: date) -> date:
    """The last day a payment falling due on `due_date` is in time: the due date itself, or the
    next bank day when it falls on a weekend, public holiday or a day banks are closed.

    Gjeldsbrevloven § 5 lets a debtor pay on the next working day when the due date is not one
    (the rule the project applies, issue 20); late-payment interest therefore runs from the day
    after this date, and fee rules counting "14 days after the due date" count from it too.
    """
    return next_bank_day(due_date)


def add_bank_days(day: date, count: int) -> date:
    """The date `count` bank days after `day` (before it when negative); `day` when count is 0.

    `day` itself does not count, so one bank day after a Friday is the following Monday.
    """
    step = timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    while remaining:
        day += step
        if is_bank_day(day):
            remaining -= 1
    return day
