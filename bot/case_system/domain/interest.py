"""Late-payment interest (forsinkelsesrente) per half-year rate period.

The rate is fixed per half-year (forsinkelsesrenteloven § 3); the sourced rates live in
`data/late_payment_interest.yml`. Interest is simple, not compound, and daily:

    principal × rate / 100 × days / days in that calendar year      for each rate period

Day count: the rate is an annual rate per calendar year, so a day is 1/365 of it in a common year
and 1/366 in a leap year (Justis- og beredskapsdepartementet, Lovavdelingen, "Spørsmål om tolking
av forsinkelsesrenteloven – antall rentedager", letter of 26 June 2006: "årlig rente" in § 3 means
a calendar year of 365 days, or 366 in a leap year,
https://www.regjeringen.no/no/dokumenter/-3-sporsmal-om-tolking-av-forsinkelsesrenteloven-antall-rentedager/id3013649/).
Rate periods are half-years, so a stretch crossing New Year is always split at 31 December and
each part uses its own year's length: 10 000 kr at 12 % over all of 2028 is 1 200.00 exactly.

Days: interest runs from the due date (forsinkelsesrenteloven § 2: "Renten løper fra
forfallsdag"), which means the first day of interest is the day after the due date and a payment
made on day N after the due date carries N days of interest. Both ends of a period are inclusive.
A due date that is not a bank day moves first (claims.py, bank_days.payment_due_date).

Rounding: exact Decimal arithmetic per period; only the total of one call is rounded, to øre with
ROUND_HALF_UP (`to_ore`). Each period's amount is rounded the same way for display, except the
last period, which shows the total minus the other displayed amounts, so the displayed periods
always add up to the total exactly. A claim statement rounds once per principal level (claims.py).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from bot.case_system.domain import DATA_DIR

DEFAULT_PATH = DATA_DIR / "late_payment_interest.yml"

ORE = Decimal("0.01")
_PERIOD_LABEL = re.compile(r"^(\d{4})-H([12])$")


def days_in_year(year: int) -> Decimal:
    """365, or 366 in a leap year: the length of the calendar year a day of interest belongs to."""
    return Decimal(366 if calendar.isleap(year) else 365)


def to_ore(amount: Decimal) -> Decimal:
    """`amount` rounded to øre, half up (the one rounding rule for money)."""
    return amount.quantize(ORE, rounding=ROUND_HALF_UP)


def decimal_from_data(value: object, what: str) -> Decimal:
    """A Decimal from a data-file value; floats are refused so no binary float enters money."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f'{what} must be written as a string, e.g. "12.50"')
    return Decimal(str(value))


# --- half-years ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class HalfYear:
    """A calendar half-year: H1 is 1 January to 30 June, H2 is 1 July to 31 December."""

    year: int
    half: int  # 1 or 2

    @classmethod
    def containing(cls, day: date) -> "HalfYear":
        """The half-year `day` falls in."""
        return cls(day.year, 1 if day.month <= 6 else 2)

    @classmethod
    def parse(cls, label: str) -> "HalfYear":
        """Parse a label such as "2025-H1"."""
        match = _PERIOD_LABEL.match(str(label))
        if not match:
            raise ValueError(f"half-year label must look like 2025-H1, got {label!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def label(self) -> str:
        """The label used in the data file, e.g. "2025-H1"."""
        return f"{self.year}-H{self.half}"

    @property
    def start(self) -> date:
        """First day of the half-year."""
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        """Last day of the half-year (inclusive)."""
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    def next(self) -> "HalfYear":
        """The half-year after this one."""
        return HalfYear(self.year, 2) if self.half == 1 else HalfYear(self.year + 1, 1)


def _half_years(first: HalfYear, last: HalfYear) -> Iterator[HalfYear]:
    current = first
    while current <= last:
        yield current
        current = current.next()


# --- rate table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatePeriod:
    """A stretch of days at one late-payment interest rate; `end` is inclusive.

    `provisional` is true when no sourced rate exists for the half-year and the latest earlier
    sourced rate stands in for it; `source` is then None.
    """

    start: date
    end: date
    rate_percent: Decimal
    source: str | None
    provisional: bool


class RateTable:
    """Sourced late-payment interest rates by half-year."""

    def __init__(self, periods: Iterable[RatePeriod]) -> None:
        """A table from sourced periods, each exactly one whole half-year."""
        rates: dict[HalfYear, RatePeriod] = {}
        for period in periods:
            half_year = HalfYear.containing(period.start)
            if (period.start, period.end) != (half_year.start, half_year.end):
                raise ValueError("each sourced rate period must cover exactly one half-year")
            if period.provisional or not period.source:
                raise ValueError(f"{half_year.label}: a sourced rate needs a source")
            if not isinstance(period.rate_percent, Decimal) or period.rate_percent < 0:
                raise ValueError(f"{half_year.label}: rate must be a non-negative Decimal")
            if half_year in rates:
                raise ValueError(f"{half_year.label} is listed twice")
            rates[half_year] = period
        if not rates:
            raise ValueError("a rate table needs at least one sourced rate")
        self._rates = dict(sorted(rates.items()))

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> "RateTable":
        """Read a rate table from a YAML file laid out like `data/late_payment_interest.yml`."""
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        periods = []
        for entry in document["periods"]:
            half_year = HalfYear.parse(entry["period"])
            rate = decimal_from_data(entry["rate_percent"], f"{half_year.label} rate_percent")
            basis = entry.get("basis", "unspecified")
            periods.append(
                RatePeriod(
                    start=half_year.start,
                    end=half_year.end,
                    rate_percent=rate,
                    source=f"[{basis}] {entry['source']}" if entry.get("source") else None,
                    provisional=False,
                )
            )
        return cls(periods)

    @property
    def sourced_periods(self) -> tuple[RatePeriod, ...]:
        """Every sourced half-year, in date order."""
        return tuple(self._rates.values())

    def periods_between(self, start: date, end: date) -> list[RatePeriod]:
        """The rate periods covering `start`..`end` (inclusive), clipped to that range.

        A half-year without a sourced rate is returned with the latest earlier sourced rate and
        `provisional=True`; before the first sourced half-year there is nothing to carry forward,
        so that raises ValueError.
        """
        if end < start:
            return []
        result = []
        latest: RatePeriod | None = None
        for half_year, period in self._rates.items():
            if half_year < HalfYear.containing(start):
                latest = period
        for half_year in _half_years(HalfYear.containing(start), HalfYear.containing(end)):
            sourced = self._rates.get(half_year)
            if sourced is not None:
                latest = sourced
            elif latest is None:
                raise ValueError(f"no late-payment interest rate on or before {half_year.label}")
            result.append(
                RatePeriod(
                    start=max(start, half_year.start),
                    end=min(end, half_year.end),
                    rate_percent=latest.rate_percent,
                    source=sourced.source if sourced else None,
                    provisional=sourced is None,
                )
            )
        return result

    def unsourced_periods(self, until: date) -> list[str]:
        """Labels of half-years without a sourced rate, from the first sourced one to `until`'s."""
        first = next(iter(self._rates))
        return [
            half_year.label
            for half_year in _half_years(first, HalfYear.containing(until))
            if half_year not in self._rates
        ]


@lru_cache(maxsize=1)
def load_default_rate_table() -> RateTable:
    """The packaged rate table, read once per process."""
    return RateTable.load(DEFAULT_PATH)


# --- interest ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterestPeriodAmount:
    """Interest for one rate period; `amount` is rounded for display (see module docstring)."""

    start: date
    end: date
    days: int
    rate_percent: Decimal
    amount: Decimal
    provisional: bool


@dataclass(frozen=True)
class InterestResult:
    """Late-payment interest over a stretch of days, in total and per rate period."""

    amount: Decimal
    periods: tuple[InterestPeriodAmount, ...]
    provisional: bool


def late_payment_interest(principal: Decimal, first_day: date, last_day: date, table: RateTable) -> InterestResult:
    """Simple daily interest on `principal` for `first_day`..`last_day`, both inclusive.

    `first_day` is the day after the due date. An empty range (last_day < first_day) gives zero.
    """
    if not isinstance(principal, Decimal):
        raise TypeError("principal must be a Decimal")
    if principal < 0:
        raise ValueError("principal must not be negative")
    rate_periods = table.periods_between(first_day, last_day)
    if principal == 0 or not rate_periods:
        return InterestResult(amount=to_ore(Decimal(0)), periods=(), provisional=False)

    exact = []
    for period in rate_periods:
        days = (period.end - period.start).days + 1
        # A rate period never crosses New Year (periods are half-years), so it has one year length.
        year_length = days_in_year(period.start.year)
        exact.append((period, days, principal * period.rate_percent / 100 * days / year_length))
    total = to_ore(sum((amount for _, _, amount in exact), Decimal(0)))

    shown: list[InterestPeriodAmount] = []
    shown_so_far = Decimal(0)
    for index, (period, days, amount) in enumerate(exact):
        is_last = index == len(exact) - 1
        display = total - shown_so_far if is_last else to_ore(amount)
        shown_so_far += display
        shown.append(
            InterestPeriodAmount(
                start=period.start,
                end=period.end,
                days=days,
                rate_percent=period.rate_percent,
                amount=display,
                provisional=period.provisional,
            )
        )
    return InterestResult(
        amount=total,
        periods=tuple(shown),
        provisional=any(item.provisional for item in shown),
    )


def day_after(day: date) -> date:
    """The next calendar day (the first day of interest after a due date or a payment)."""
    return day + timedelta(days=1)
