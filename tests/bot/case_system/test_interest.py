"""Late-payment interest (forsinkelsesrente) per half-year rate period."""

from datetime import date
from decimal import Decimal

import pytest
import yaml

from bot.case_system.domain.interest import (
    DEFAULT_PATH,
    HalfYear,
    RatePeriod,
    RateTable,
    late_payment_interest,
    load_default_rate_table,
)


@pytest.fixture(scope="module")
def rates() -> RateTable:
    return load_default_rate_table()


def sourced(label: str, rate: str) -> RatePeriod:
    half_year = HalfYear.parse(label)
    return RatePeriod(half_year.start, half_year.end, Decimal(rate), "test source", False)


# --- the data file ------------------------------------------------------------------------------


def test_confirmed_rates_are_on_file(rates):
    """12.50 % for the first half of 2025 and 12.00 % for the first half of 2026."""
    assert rates.periods_between(date(2025, 3, 1), date(2025, 3, 1))[0].rate_percent == Decimal("12.50")
    assert rates.periods_between(date(2026, 3, 1), date(2026, 3, 1))[0].rate_percent == Decimal("12.00")


def test_every_half_year_from_2023_to_2026_h1_is_sourced(rates):
    assert rates.unsourced_periods(until=date(2026, 6, 30)) == []
    labels = [HalfYear.containing(period.start).label for period in rates.sourced_periods]
    assert labels[:7] == [
        "2023-H1",
        "2023-H2",
        "2024-H1",
        "2024-H2",
        "2025-H1",
        "2025-H2",
        "2026-H1",
    ]


def test_second_half_of_2026_has_no_source_yet(rates):
    assert rates.unsourced_periods(until=date(2026, 12, 31)) == ["2026-H2"]
    assert rates.unsourced_periods(until=date(2027, 1, 1)) == ["2026-H2", "2027-H1"]


def test_every_rate_is_the_policy_rate_plus_eight_points_and_cites_a_source():
    """forsinkelsesrenteloven § 3: Norges Bank's policy rate on 1 Jan / 1 Jul + 8 points."""
    entries = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))["periods"]
    for entry in entries:
        assert Decimal(entry["rate_percent"]) == Decimal(entry["policy_rate_percent"]) + 8
        assert "https://" in entry["source"]
        assert entry["basis"] in {"regulation", "announcement", "secondary", "derived"}


def test_default_table_is_read_once(rates):
    assert load_default_rate_table() is rates


def test_loader_refuses_yaml_floats(tmp_path):
    path = tmp_path / "rates.yml"
    path.write_text('periods:\n  - {period: "2025-H1", rate_percent: 12.5, source: "x"}\n')
    with pytest.raises(ValueError, match="string"):
        RateTable.load(path)


def test_table_refuses_a_period_without_a_source_or_not_a_whole_half_year():
    with pytest.raises(ValueError):
        RateTable([RatePeriod(date(2025, 1, 1), date(2025, 6, 30), Decimal("12.50"), None, False)])
    with pytest.raises(ValueError):
        RateTable([RatePeriod(date(2025, 1, 1), date(2025, 3, 31), Decimal("12.50"), "x", False)])
    with pytest.raises(ValueError):
        RateTable([sourced("2025-H1", "12.50"), sourced("2025-H1", "12.00")])


# --- periods_between ----------------------------------------------------------------------------


def test_periods_are_clipped_at_both_ends_and_split_at_1_july(rates):
    periods = rates.periods_between(date(2025, 6, 1), date(2025, 7, 31))
    assert [(p.start, p.end, p.rate_percent, p.provisional) for p in periods] == [
        (date(2025, 6, 1), date(2025, 6, 30), Decimal("12.50"), False),
        (date(2025, 7, 1), date(2025, 7, 31), Decimal("12.25"), False),
    ]
    assert all(period.source for period in periods)


def test_half_year_without_a_source_carries_the_latest_rate_and_says_so(rates):
    periods = rates.periods_between(date(2026, 6, 15), date(2027, 2, 1))
    assert [(p.start, p.end, p.rate_percent, p.provisional, p.source) for p in periods] == [
        (date(2026, 6, 15), date(2026, 6, 30), Decimal("12.00"), False, periods[0].source),
        (date(2026, 7, 1), date(2026, 12, 31), Decimal("12.00"), True, None),
        (date(2027, 1, 1), date(2027, 2, 1), Decimal("12.00"), True, None),
    ]


def test_a_gap_between_sourced_half_years_is_provisional_too():
    table = RateTable([sourced("2025-H1", "12.50"), sourced("2026-H1", "12.00")])
    assert table.unsourced_periods(until=date(2026, 6, 30)) == ["2025-H2"]
    gap = table.periods_between(date(2025, 8, 1), date(2025, 8, 31))
    assert [(p.rate_percent, p.provisional) for p in gap] == [(Decimal("12.50"), True)]


def test_no_rate_before_the_first_sourced_half_year():
    table = RateTable([sourced("2025-H1", "12.50")])
    with pytest.raises(ValueError):
        table.periods_between(date(2024, 12, 1), date(2025, 1, 31))


# --- late_payment_interest ----------------------------------------------------------------------


def test_worked_example_across_the_1_july_boundary(rates):
    """10 000.00 overdue from 1 June to 31 July 2025 (due date 31 May).

    June, 30 days at 12.50 %: 10 000 × 0.1250 × 30 / 365 = 37 500 / 365 = 102.7397…
    July, 31 days at 12.25 %: 10 000 × 0.1225 × 31 / 365 = 37 975 / 365 = 104.0410…
    Total, rounded once:      75 475 / 365 = 206.7808… → 206.78
    Shown: June 102.74; July is the remainder 206.78 − 102.74 = 104.04.
    """
    result = late_payment_interest(Decimal("10000.00"), date(2025, 6, 1), date(2025, 7, 31), rates)
    assert result.amount == Decimal("206.78")
    assert [(p.start, p.end, p.days, p.rate_percent, p.amount) for p in result.periods] == [
        (date(2025, 6, 1), date(2025, 6, 30), 30, Decimal("12.50"), Decimal("102.74")),
        (date(2025, 7, 1), date(2025, 7, 31), 31, Decimal("12.25"), Decimal("104.04")),
    ]
    assert result.provisional is False


def test_displayed_periods_always_add_up_to_the_total(rates):
    """111.00 over the same two months shows why the last period takes the remainder.

    June: 111 × 0.1250 × 30 / 365 = 416.25 / 365   = 1.1404… → 1.14
    July: 111 × 0.1225 × 31 / 365 = 421.5225 / 365 = 1.1548… (1.15 on its own)
    Total: 837.7725 / 365 = 2.2952… → 2.30, so July shows 2.30 − 1.14 = 1.16.
    Rounding each period on its own would show 1.14 + 1.15 = 2.29 ≠ 2.30.
    """
    result = late_payment_interest(Decimal("111.00"), date(2025, 6, 1), date(2025, 7, 31), rates)
    assert result.amount == Decimal("2.30")
    assert [p.amount for p in result.periods] == [Decimal("1.14"), Decimal("1.16")]
    assert sum(p.amount for p in result.periods) == result.amount


def test_claim_running_into_an_unsourced_half_year_is_provisional(rates):
    """10 000.00 from 1 June to 31 July 2026; 2026-H2 has no sourced rate yet.

    June, 30 days at 12.00 %:                10 000 × 0.12 × 30 / 365 = 98.6301… → 98.63
    July, 31 days at 12.00 % (carried over): 10 000 × 0.12 × 31 / 365 = 101.9178…
    Total: 10 000 × 0.12 × 61 / 365 = 200.5479… → 200.55; July shows 200.55 − 98.63 = 101.92.
    """
    result = late_payment_interest(Decimal("10000.00"), date(2026, 6, 1), date(2026, 7, 31), rates)
    assert result.amount == Decimal("200.55")
    assert [(p.amount, p.provisional) for p in result.periods] == [
        (Decimal("98.63"), False),
        (Decimal("101.92"), True),
    ]
    assert result.provisional is True


def test_a_leap_year_day_is_one_366th_of_the_annual_rate(rates):
    """36 500.00 for all of 2024 (366 days) at 12.50 %: 36 500 × 0.125 × 366 / 366 = 4 562.50
    (Lovavdelingen 2006: a day in a leap year is 1/366 of the annual rate)."""
    result = late_payment_interest(Decimal("36500.00"), date(2024, 1, 1), date(2024, 12, 31), rates)
    assert result.amount == Decimal("4562.50")
    assert [p.days for p in result.periods] == [182, 184]


def test_single_day(rates):
    """1 000.00 for one day at 12.50 %: 1 000 × 0.125 / 365 = 0.3424… → 0.34."""
    result = late_payment_interest(Decimal("1000.00"), date(2025, 2, 1), date(2025, 2, 1), rates)
    assert result.amount == Decimal("0.34")
    assert result.periods[0].days == 1


def test_empty_range_and_zero_principal_give_no_interest(rates):
    empty = late_payment_interest(Decimal("5000.00"), date(2025, 3, 2), date(2025, 3, 1), rates)
    assert (empty.amount, empty.periods, empty.provisional) == (Decimal("0.00"), (), False)
    nothing = late_payment_interest(Decimal("0.00"), date(2025, 1, 1), date(2025, 12, 31), rates)
    assert nothing.amount == Decimal("0.00")


def test_float_or_negative_principal_is_refused(rates):
    with pytest.raises(TypeError):
        late_payment_interest(1000.0, date(2025, 1, 1), date(2025, 1, 31), rates)
    with pytest.raises(ValueError):
        late_payment_interest(Decimal("-1"), date(2025, 1, 1), date(2025, 1, 31), rates)
