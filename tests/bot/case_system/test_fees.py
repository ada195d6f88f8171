"""Legal fee caps for consumer claims (inkassoforskriften chapters 1 and 2)."""

from datetime import date
from decimal import Decimal

import pytest

from bot.case_system.contract.enums import LineType
from bot.case_system.domain.fees import (
    FeeCheck,
    check_fee,
    collection_fee_cap,
    collection_notice_fee_cap,
    inkassosats,
    inkassosats_rate,
    payment_demand_fee_cap,
    reminder_fee_cap,
)

D = Decimal
IN_2025 = date(2025, 6, 1)


def test_inkassosats_is_700_kroner_in_2025_and_confirmed():
    assert inkassosats(IN_2025) == D("700")
    rate = inkassosats_rate(IN_2025)
    assert rate.provisional is False
    assert "juridika.no" in rate.source


def test_inkassosats_is_750_kroner_from_2026():
    """700 kroner through 31 December 2025, 750 kroner from 1 January 2026, each with its source."""
    assert inkassosats(date(2025, 12, 31)) == D("700")
    rate = inkassosats_rate(date(2026, 1, 1))
    assert (rate.amount, rate.provisional) == (D("750"), False)
    assert "finanstilsynet.no" in rate.source


def test_inkassosats_after_the_last_confirmed_date_is_provisional():
    """No figure for 2027 is on record yet: the 750 kroner stays in force (a rate in a regulation
    applies until amended) but every use of it after 2026 is flagged provisional."""
    rate = inkassosats_rate(date(2027, 1, 1))
    assert (rate.amount, rate.provisional) == (D("750"), True)


def test_no_inkassosats_before_the_first_entry():
    with pytest.raises(LookupError):
        inkassosats(date(2016, 12, 31))


def test_notice_fee_caps_are_fractions_of_the_inkassosats():
    """§ 1-2: reminder 1/20 × 700 = 35.00; collection notice 1/20 × 700 = 35.00;
    payment demand sent by the creditor 3/20 × 700 = 105.00."""
    assert reminder_fee_cap(IN_2025) == D("35.00")
    assert collection_notice_fee_cap(IN_2025) == D("35.00")
    assert payment_demand_fee_cap(IN_2025) == D("105.00")


def test_notice_fee_caps_from_2026_are_exact_fractions_never_rounded_up():
    """1/20 × 750 = 37.50 (not 38); 3/20 × 750 = 112.50 (not 113)."""
    in_2026 = date(2026, 3, 1)
    assert reminder_fee_cap(in_2026) == D("37.50")
    assert collection_notice_fee_cap(in_2026) == D("37.50")
    assert payment_demand_fee_cap(in_2026) == D("112.50")
    # the notice's own sending day decides: a reminder sent on New Year's Eve 2025 is at 700
    assert reminder_fee_cap(date(2025, 12, 31)) == D("35.00")


@pytest.mark.parametrize(
    "principal, light, heavy",
    [
        # multiple × 700: the kroner amounts the sources list for lett / tungt salær
        ("1.00", "175.00", "350.00"),  # 0.25 / 0.50
        ("500.00", "175.00", "350.00"),  # "t.o.m." 500: the bound is inclusive
        ("500.01", "245.00", "490.00"),  # 0.35 / 0.70
        ("1199.00", "280.00", "560.00"),  # 0.40 / 0.80
        ("2450.00", "280.00", "560.00"),
        ("2500.01", "560.00", "1120.00"),  # 0.80 / 1.60
        ("14500.00", "1120.00", "2240.00"),  # 1.60 / 3.20
        ("250000.00", "2520.00", "5040.00"),  # 3.60 / 7.20
        ("250000.01", "5040.00", "10080.00"),  # 7.20 / 14.40
    ],
)
def test_collection_fee_cap_by_claim_size(principal, light, heavy):
    assert collection_fee_cap(D(principal), IN_2025) == D(light)
    assert collection_fee_cap(D(principal), IN_2025, heavy=True) == D(heavy)


@pytest.mark.parametrize(
    "principal, light, heavy",
    [
        # multiple × 750, to the øre (no rounding to kroner is on record for the salær)
        ("500.00", "187.50", "375.00"),  # 0.25 / 0.50
        ("1000.00", "262.50", "525.00"),  # 0.35 / 0.70
        ("2450.00", "300.00", "600.00"),  # 0.40 / 0.80 (demo case 100001)
        ("14500.00", "1200.00", "2400.00"),  # 1.60 / 3.20 (demo case 100005)
        ("250000.01", "5400.00", "10800.00"),  # 7.20 / 14.40
    ],
)
def test_collection_fee_cap_in_2026(principal, light, heavy):
    in_2026 = date(2026, 9, 1)
    assert collection_fee_cap(D(principal), in_2026) == D(light)
    assert collection_fee_cap(D(principal), in_2026, heavy=True) == D(heavy)


def test_collection_fee_cap_is_raised_by_vat_for_creditors_outside_vat():
    """Demo case 100003 (a dental clinic, 6 800.00): lett salær 0.80 × 700 = 560.00,
    plus 25 % because the claim does not arise from VAT-liable business: 700.00."""
    assert collection_fee_cap(D("6800.00"), IN_2025, creditor_vat_liable=False) == D("700.00")


def test_collection_fee_cap_before_the_2020_table_is_not_on_record():
    with pytest.raises(LookupError):
        collection_fee_cap(D("1000.00"), date(2020, 9, 30))


def test_check_fee_within_cap():
    check = check_fee(LineType.REMINDER_FEE, D("35.00"), principal=D("2450.00"), charged_on=IN_2025)
    assert check == FeeCheck(
        line_type=LineType.REMINDER_FEE,
        amount=D("35.00"),
        cap=D("35.00"),
        over_cap=False,
        source=check.source,
        provisional=False,
    )
    assert "§ 1-2" in check.source


def test_check_fee_over_cap():
    """70.00 was the reminder fee before 1 October 2020; now the cap is 35.00."""
    assert check_fee(LineType.REMINDER_FEE, D("70.00"), principal=D("2450.00"), charged_on=IN_2025).over_cap
    salary = check_fee(LineType.COLLECTION_FEE, D("350.00"), principal=D("2450.00"), charged_on=IN_2025)
    assert (salary.cap, salary.over_cap) == (D("280.00"), True)
    heavy = check_fee(LineType.COLLECTION_FEE, D("560.00"), principal=D("2450.00"), charged_on=IN_2025, heavy=True)
    assert (heavy.cap, heavy.over_cap) == (D("560.00"), False)


def test_check_fee_in_2026_is_confirmed_and_at_the_2026_cap():
    """Demo case 100001 charges its fees in 2026: 37.50 is at the cap; 37.51, and 38.00 (the
    figure rounded to whole kroner), are above it."""
    check = check_fee(
        LineType.COLLECTION_NOTICE_FEE,
        D("37.50"),
        principal=D("2450.00"),
        charged_on=date(2026, 9, 1),
    )
    assert (check.cap, check.over_cap, check.provisional) == (D("37.50"), False, False)
    for excess in ("37.51", "38.00"):
        assert check_fee(
            LineType.COLLECTION_NOTICE_FEE, D(excess), principal=D("2450.00"), charged_on=date(2026, 9, 1)
        ).over_cap


def test_check_fee_refuses_lines_that_are_not_capped_fees():
    with pytest.raises(ValueError):
        check_fee(LineType.PRINCIPAL, D("1.00"), principal=D("1.00"), charged_on=IN_2025)
    with pytest.raises(TypeError):
        check_fee(LineType.REMINDER_FEE, 35.0, principal=D("1.00"), charged_on=IN_2025)
