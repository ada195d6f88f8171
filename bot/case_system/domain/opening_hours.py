"""When caseworkers answer: opening hours in Oslo time, Norwegian public holidays closed.

`CASEWORKER_HOURS` is written like "mon-fri 08:00-16:00" (several parts separated by commas:
"mon-fri 08:00-16:00, sat 10:00-14:00"). A debtor handed over is told honestly when a person will
answer (`expected_answer_by`): within the service level while the office is open, otherwise at
the next opening.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from bot.case_system.domain.clock import OSLO

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<opens>\d{1,2}:\d{2})-(?P<closes>\d{1,2}:\d{2})$"
)
DEFAULT_HOURS = "mon-fri 08:00-16:00"


@dataclass(frozen=True)
class Window:
    weekday: int  # Monday is 0
    opens: time
    closes: time


@dataclass(frozen=True)
class OpeningHours:
    windows: tuple[Window, ...]

    @classmethod
    def parse(cls, text: str) -> "OpeningHours":
        """Opening hours from their written form; `ValueError` names what is wrong."""
        windows = []
        for part in filter(None, (piece.strip().lower() for piece in re.split(r"[,;]", text))):
            match = _PART.match(part)
            if match is None:
                raise ValueError(f"opening hours must look like 'mon-fri 08:00-16:00', not {part!r}")
            first, last = match["first"], match["last"] or match["first"]
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"days are written {', '.join(DAYS)}")
            opens, closes = time.fromisoformat(match["opens"].zfill(5)), time.fromisoformat(match["closes"].zfill(5))
            if opens >= closes:
                raise ValueError(f"a day must close after it opens: {part!r}")
            start, end = DAYS.index(first), DAYS.index(last)
            days = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
            windows += [Window(day, opens, closes) for day in days]
        if not windows:
            raise ValueError("opening hours are empty")
        return cls(tuple(sorted(windows, key=lambda window: (window.weekday, window.opens))))

    def _windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if is_public_holiday(day):
            return []
        return [
            (datetime.combine(day, window.opens, OSLO), datetime.combine(day, window.closes, OSLO))
            for window in self.windows
            if window.weekday == day.weekday()
        ]

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(OSLO)
        return any(opens <= local < closes for opens, closes in self._windows_on(local.date()))

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening after `moment` (aware, Oslo time)."""
        local = moment.astimezone(OSLO)
        for offset in range(0, 400):  # Easter and Christmas never close more than a few days
            day = local.date() + timedelta(days=offset)
            for opens, _closes in self._windows_on(day):
                if opens > local:
                    return opens
        raise ValueError("the opening hours never open")

    def expected_answer_by(self, moment: datetime, sla: timedelta) -> datetime:
        """When a person will answer a handoff made at `moment`: within `sla` while open, else at
        the next opening."""
        if self.is_open(moment):
            return moment + sla
        return self.next_opening(moment)


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Norway(years=year))


def is_public_holiday(day: date) -> bool:
    return day in _holidays(day.year)


@lru_cache(maxsize=8)
def parse_hours(text: str) -> OpeningHours:
    return OpeningHours.parse(text or DEFAULT_HOURS)
