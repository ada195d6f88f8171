"""When a person will answer a handoff: CASEWORKER_HOURS in Oslo time, Norwegian public holidays
closed (the `holidays` package), within the service level while open, else the next opening."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.case_system.domain.opening_hours import OpeningHours, parse_hours

SLA = timedelta(minutes=15)
HOURS = parse_hours("mon-fri 08:00-16:00")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 11, 25, 9, 30), utc(2026, 11, 25, 9, 45)),  # Wednesday 10:30 in Oslo: open
        (utc(2026, 11, 25, 15, 30), utc(2026, 11, 26, 7, 0)),  # 16:30: closed until Thursday 08:00
        (utc(2026, 11, 28, 12, 0), utc(2026, 11, 30, 7, 0)),  # Saturday: Monday morning
        (utc(2026, 12, 24, 12, 0), utc(2026, 12, 24, 12, 15)),  # Christmas Eve is no public holiday: open
        (utc(2026, 12, 25, 9, 0), utc(2026, 12, 28, 7, 0)),  # Christmas Day and Boxing Day are holidays
        (utc(2026, 5, 17, 9, 0), utc(2026, 5, 18, 6, 0)),  # Constitution Day (a Sunday in 2026); summer time
        (utc(2026, 4, 2, 9, 0), utc(2026, 4, 7, 6, 0)),  # Maundy Thursday to Easter Monday closed
    ],
)
def test_expected_answer(moment, expected):
    assert HOURS.expected_answer_by(moment, SLA) == expected


def test_several_parts_and_a_week_that_wraps():
    hours = OpeningHours.parse("mon-fri 08:00-16:00, sat 10:00-14:00")
    assert hours.expected_answer_by(utc(2026, 11, 28, 8, 0), SLA) == utc(2026, 11, 28, 9, 0)  # Saturday 10:00 Oslo
    assert OpeningHours.parse("sun-mon 09:00-10:00").is_open(utc(2026, 11, 29, 8, 30))


@pytest.mark.parametrize("text", ["monday 08:00-16:00", "mon-fri 16:00-08:00", "mon-fri", ""])
def test_malformed_hours_are_refused(text):
    with pytest.raises(ValueError):
        OpeningHours.parse(text)
