"""Norwegian bank days around Easter 2026 and Christmas / New Year 2026–2027."""

from datetime import date

import holidays
import pytest

from bot.case_system.domain.bank_days import add_bank_days, is_bank_day, next_bank_day


def test_holidays_package_lacks_christmas_eve_and_new_years_eve():
    """Why bank_days adds them itself: they are not public holidays in Norway."""
    norway = holidays.Norway(years=2026)
    assert date(2026, 12, 24) not in norway
    assert date(2026, 12, 31) not in norway
    assert date(2026, 12, 25) in norway


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 4, 1), True),  # Wednesday before Easter
        (date(2026, 4, 2), False),  # Maundy Thursday (skjærtorsdag)
        (date(2026, 4, 3), False),  # Good Friday (langfredag)
        (date(2026, 4, 4), False),  # Saturday
        (date(2026, 4, 5), False),  # Easter Sunday
        (date(2026, 4, 6), False),  # Easter Monday (2. påskedag)
        (date(2026, 4, 7), True),  # Tuesday after Easter
        (date(2026, 12, 23), True),  # Wednesday
        (date(2026, 12, 24), False),  # Thursday, Christmas Eve: banks closed
        (date(2026, 12, 25), False),  # Christmas Day
        (date(2026, 12, 28), True),  # Monday
        (date(2026, 12, 30), True),  # Wednesday
        (date(2026, 12, 31), False),  # Thursday, New Year's Eve: banks closed
        (date(2027, 1, 1), False),  # New Year's Day
        (date(2027, 1, 4), True),  # Monday
    ],
)
def test_is_bank_day(day, expected):
    assert is_bank_day(day) is expected


def test_next_bank_day_is_the_day_itself_when_it_is_one():
    assert next_bank_day(date(2026, 4, 1)) == date(2026, 4, 1)


def test_next_bank_day_skips_easter():
    assert next_bank_day(date(2026, 4, 2)) == date(2026, 4, 7)


def test_next_bank_day_skips_christmas_and_new_year():
    assert next_bank_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert next_bank_day(date(2026, 12, 31)) == date(2027, 1, 4)


def test_add_bank_days_over_easter():
    assert add_bank_days(date(2026, 4, 1), 1) == date(2026, 4, 7)
    assert add_bank_days(date(2026, 3, 31), 2) == date(2026, 4, 7)
    assert add_bank_days(date(2026, 4, 7), -1) == date(2026, 4, 1)


def test_add_bank_days_over_christmas_and_new_year():
    """23 Dec 2026 + 1 → Mon 28 Dec; + 3 → Wed 30 Dec; + 4 → Mon 4 Jan 2027 (31 Dec, 1 Jan and
    the weekend are skipped)."""
    assert add_bank_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert add_bank_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    assert add_bank_days(date(2026, 12, 23), 4) == date(2027, 1, 4)


def test_add_zero_bank_days_is_the_same_day():
    assert add_bank_days(date(2026, 12, 26), 0) == date(2026, 12, 26)
