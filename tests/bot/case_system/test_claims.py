"""Claim reconciliation: lines, payments (costs → interest → principal) and balance."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.case_system.domain.claims import (
    FEE_TYPES,
    ClaimLine,
    LineType,
    Payment,
    balance,
    claim_statement,
)
from bot.case_system.domain.interest import load_default_rate_table

RATES = load_default_rate_table()
D = Decimal


def reminder_fee(charged_on: date, amount: str = "35.00") -> ClaimLine:
    return ClaimLine(LineType.REMINDER_FEE, D(amount), "purregebyr", from_date=charged_on)


def notice_fee(charged_on: date, amount: str = "35.00") -> ClaimLine:
    return ClaimLine(LineType.COLLECTION_NOTICE_FEE, D(amount), "inkassovarsel", from_date=charged_on)


def interest_lines(statement):
    return [
        (line.from_date, line.to_date, line.rate_percent, line.amount)
        for line in statement.lines
        if line.type is LineType.LATE_PAYMENT_INTEREST
    ]


def test_reconciles_to_the_ore_without_payments():
    """Principal 10 000.00 due Saturday 31 May 2025, reminder fee 35.00, statement as of 31 July.

    Payment on Monday 2 June is in time (gjeldsbrevloven § 5), so interest runs from 3 June:
    June, 28 days at 12.50 %: 10 000 × 0.125 × 28 / 365 = 95.8904… → 95.89;
    July, 31 days at 12.25 %: 10 000 × 0.1225 × 31 / 365 = 104.0410…;
    total rounded once 199.9315… → 199.93, so July shows 199.93 − 95.89 = 104.04.
    Claimed: 10 000.00 + 35.00 + 199.93 = 10 234.93; nothing paid.
    """
    statement = claim_statement(
        principal=D("10000.00"),
        due_date=date(2025, 5, 31),
        fees=[reminder_fee(date(2025, 6, 16))],
        payments=[],
        as_of=date(2025, 7, 31),
        rates=RATES,
        principal_description="Faktura 4711",
    )
    assert statement.lines[0] == ClaimLine(LineType.PRINCIPAL, D("10000.00"), "Faktura 4711")
    assert interest_lines(statement) == [
        (date(2025, 6, 3), date(2025, 6, 30), D("12.50"), D("95.89")),
        (date(2025, 7, 1), date(2025, 7, 31), D("12.25"), D("104.04")),
    ]
    assert statement.total_claimed == D("10234.93")
    assert statement.total_paid == D("0.00")
    assert statement.balance == D("10234.93")
    assert statement.overpaid == D("0.00")
    assert statement.provisional_interest is False


def test_payment_that_covers_fees_only_leaves_interest_running_on_the_full_principal():
    """Principal 10 000.00 due 31 May 2025; reminder 35.00 (16 June) and collection notice
    35.00 (30 June); 70.00 paid on 10 July; statement as of 31 July 2025.

    On 10 July the fees due are 70.00, so the whole payment goes to costs and none reaches the
    principal. Interest therefore runs on 10 000.00 all the way from 3 June (the Saturday due date
    moves to Monday 2 June): 95.89 + 104.04 = 199.93.
    Claimed 10 000.00 + 70.00 + 199.93 = 10 269.93; paid 70.00; balance 10 199.93.
    """
    statement = claim_statement(
        principal=D("10000.00"),
        due_date=date(2025, 5, 31),
        fees=[reminder_fee(date(2025, 6, 16)), notice_fee(date(2025, 6, 30))],
        payments=[Payment(date(2025, 7, 10), D("70.00"))],
        as_of=date(2025, 7, 31),
        rates=RATES,
    )
    (allocation,) = statement.allocations
    assert (allocation.to_costs, allocation.to_interest, allocation.to_principal) == (
        D("70.00"),
        D("0.00"),
        D("0.00"),
    )
    assert [amount for *_, amount in interest_lines(statement)] == [D("95.89"), D("104.04")]
    assert statement.total_claimed == D("10269.93")
    assert statement.balance == D("10199.93")


def test_payment_that_reaches_principal_lowers_the_interest_base_from_the_next_day():
    """Principal 10 000.00 due 31 May 2025; reminder fee 35.00 (16 June); 1 000.00 paid on
    30 June; statement as of 31 July 2025.

    The Saturday due date moves to Monday 2 June. On 30 June: costs 35.00; interest 3–30 June on
    10 000.00 at 12.50 % = 10 000 × 0.125 × 28 / 365 = 95.8904… → 95.89; principal gets
    1 000 − 35 − 95.89 = 869.11. From 1 July the base is 10 000.00 − 869.11 = 9 130.89:
    9 130.89 × 0.1225 × 31 / 365 = 94.9987… → 95.00.
    Claimed 10 000.00 + 35.00 + 95.89 + 95.00 = 10 225.89; paid 1 000.00; balance 9 225.89,
    which is the remaining principal 9 130.89 plus the unpaid July interest 95.00.
    """
    statement = claim_statement(
        principal=D("10000.00"),
        due_date=date(2025, 5, 31),
        fees=[reminder_fee(date(2025, 6, 16))],
        payments=[Payment(date(2025, 6, 30), D("1000.00"))],
        as_of=date(2025, 7, 31),
        rates=RATES,
    )
    (allocation,) = statement.allocations
    assert (allocation.to_costs, allocation.to_interest, allocation.to_principal) == (
        D("35.00"),
        D("95.89"),
        D("869.11"),
    )
    assert interest_lines(statement) == [
        (date(2025, 6, 3), date(2025, 6, 30), D("12.50"), D("95.89")),
        (date(2025, 7, 1), date(2025, 7, 31), D("12.25"), D("95.00")),
    ]
    assert "9130.89" in statement.lines[-1].description  # the line says which base it ran on
    assert statement.total_claimed == D("10225.89")
    assert statement.total_paid == D("1000.00")
    assert statement.balance == D("9225.89") == D("9130.89") + D("95.00")


def test_fee_charged_after_a_payment_is_not_covered_by_it():
    """A 35.00 reminder charged on 16 June is not yet due when 100.00 is paid on 10 June
    (due Saturday 31 May, in time until Monday 2 June), so the payment goes to interest (3–10 June,
    8 days on 1 000.00 at 12.50 % = 1 000 × 0.125 × 8 / 365 = 2.7397… → 2.74) and the rest, 97.26,
    to principal."""
    statement = claim_statement(
        principal=D("1000.00"),
        due_date=date(2025, 5, 31),
        fees=[reminder_fee(date(2025, 6, 16))],
        payments=[Payment(date(2025, 6, 10), D("100.00"))],
        as_of=date(2025, 6, 30),
        rates=RATES,
    )
    (allocation,) = statement.allocations
    assert (allocation.to_costs, allocation.to_interest, allocation.to_principal) == (
        D("0.00"),
        D("2.74"),
        D("97.26"),
    )
    assert LineType.REMINDER_FEE in [line.type for line in statement.lines]


def test_payments_and_fees_after_the_as_of_date_are_not_part_of_the_statement():
    """As of 31 May 2025 (the due date) a payment on 1 June and a fee charged on 16 June had not
    happened yet: the statement shows the principal alone."""
    statement = claim_statement(
        principal=D("1000.00"),
        due_date=date(2025, 5, 31),
        fees=[reminder_fee(date(2025, 6, 16))],
        payments=[Payment(date(2025, 6, 1), D("100.00"))],
        as_of=date(2025, 5, 31),
        rates=RATES,
    )
    assert [line.type for line in statement.lines] == [LineType.PRINCIPAL]
    assert statement.payments == ()
    assert statement.balance == D("1000.00")


def test_no_interest_on_or_before_the_due_date():
    """Demo case 100001: 2 450.00 due 15 August 2026, reminder fee 35.00; statement on the due
    date itself: no interest, balance 2 485.00."""
    statement = claim_statement(
        principal=D("2450.00"),
        due_date=date(2026, 8, 15),
        fees=[reminder_fee(date(2026, 8, 1))],
        payments=[],
        as_of=date(2026, 8, 15),
        rates=RATES,
    )
    assert interest_lines(statement) == []
    assert statement.balance == D("2485.00")
    assert statement.provisional_interest is False


def test_payment_before_the_due_date_only_reduces_the_principal():
    """1 000.00 paid on 1 June towards 6 800.00 due 30 June 2025; as of 30 June: no interest,
    balance 5 800.00."""
    statement = claim_statement(
        principal=D("6800.00"),
        due_date=date(2025, 6, 30),
        fees=[],
        payments=[Payment(date(2025, 6, 1), D("1000.00"))],
        as_of=date(2025, 6, 30),
        rates=RATES,
    )
    assert statement.allocations[0].to_principal == D("1000.00")
    assert interest_lines(statement) == []
    assert statement.balance == D("5800.00")


def test_interest_in_an_unsourced_half_year_is_flagged_provisional():
    """Demo case 100001 as of 30 September 2026: due Saturday 15 August, in time until Monday
    17 August, so overdue 18 August – 30 September (44 days) in 2026-H2, which has no sourced
    rate; 2026-H1's 12.00 % is carried: 2 450 × 0.12 × 44 / 365 = 35.4410… → 35.44."""
    statement = claim_statement(
        principal=D("2450.00"),
        due_date=date(2026, 8, 15),
        fees=[],
        payments=[],
        as_of=date(2026, 9, 30),
        rates=RATES,
    )
    assert interest_lines(statement) == [
        (date(2026, 8, 18), date(2026, 9, 30), D("12.00"), D("35.44")),
    ]
    assert statement.lines[-1].provisional is True
    assert statement.provisional_interest is True


def test_overpayment_gives_zero_balance_and_an_overpaid_amount():
    statement = claim_statement(
        principal=D("100.00"),
        due_date=date(2025, 5, 31),
        fees=[],
        payments=[Payment(date(2025, 5, 20), D("150.00"))],
        as_of=date(2025, 5, 31),
        rates=RATES,
    )
    assert statement.balance == D("0.00")
    assert statement.overpaid == D("50.00")
    assert statement.allocations[0].unapplied == D("50.00")


def test_payments_are_applied_in_date_order_whatever_order_they_are_given_in():
    kwargs = dict(
        principal=D("5000.00"),
        due_date=date(2025, 1, 31),
        fees=[reminder_fee(date(2025, 2, 14))],
        as_of=date(2025, 6, 30),
        rates=RATES,
    )
    payments = [Payment(date(2025, 5, 1), D("300.00")), Payment(date(2025, 3, 1), D("200.00"))]
    forwards = claim_statement(payments=payments, **kwargs)
    backwards = claim_statement(payments=list(reversed(payments)), **kwargs)
    assert forwards == backwards
    assert [payment.paid_on for payment in forwards.payments] == [
        date(2025, 3, 1),
        date(2025, 5, 1),
    ]


def test_invalid_input_is_refused():
    common = dict(due_date=date(2025, 5, 31), as_of=date(2025, 6, 30), rates=RATES)
    with pytest.raises(TypeError):
        claim_statement(principal=1000.0, fees=[], payments=[], **common)
    with pytest.raises(ValueError):  # a principal is not a fee
        claim_statement(
            principal=D("1000.00"),
            fees=[ClaimLine(LineType.PRINCIPAL, D("1.00"), "")],
            payments=[],
            **common,
        )
    with pytest.raises(ValueError):  # negative payment
        claim_statement(
            principal=D("1000.00"),
            fees=[],
            payments=[Payment(date(2025, 6, 1), D("-1.00"))],
            **common,
        )


def test_balance_is_exact_sum_of_lines_minus_payments():
    lines = [
        ClaimLine(LineType.PRINCIPAL, D("0.10"), ""),
        ClaimLine(LineType.REMINDER_FEE, D("0.20"), ""),
    ]
    assert balance(lines, [Payment(date(2025, 1, 1), D("0.30"))]) == D("0.00")
    assert balance(lines, [Payment(date(2025, 1, 1), D("1.00"))]) == D("-0.70")


def test_property_balance_always_reconciles():
    """For many random claims: balance − overpaid == Σ lines − Σ payments, to the øre, and every
    payment is fully accounted for as costs + interest + principal + unapplied.

    Random dates put some fees and payments after the as-of date; the identities hold over what
    the statement includes, and everything it includes is dated on or before as_of."""
    generator = random.Random(4711)

    def money(low: int, high: int) -> Decimal:
        return Decimal(generator.randint(low * 100, high * 100)) / 100

    for _ in range(300):
        due_date = date(2023, 1, 1) + timedelta(days=generator.randrange(0, 900))
        as_of = due_date + timedelta(days=generator.randrange(-30, 600))
        principal = money(1, 60000)
        fees = [
            ClaimLine(
                generator.choice([LineType.REMINDER_FEE, LineType.COLLECTION_NOTICE_FEE, LineType.COLLECTION_FEE]),
                money(0, 1200),
                "fee",
                from_date=due_date + timedelta(days=generator.randrange(0, 60)),
            )
            for _ in range(generator.randrange(0, 4))
        ]
        earliest = due_date - timedelta(days=30)
        span = max(1, (as_of - earliest).days + 1)
        payments = [
            Payment(earliest + timedelta(days=generator.randrange(0, span)), money(0, 20000))
            for _ in range(generator.randrange(0, 5))
        ]
        statement = claim_statement(
            principal=principal,
            due_date=due_date,
            fees=fees,
            payments=payments,
            as_of=as_of,
            rates=RATES,
        )
        charged_fees = [line for line in statement.lines if line.type in FEE_TYPES]
        difference = sum(line.amount for line in statement.lines) - sum(
            payment.amount for payment in statement.payments
        )
        assert statement.balance - statement.overpaid == difference
        assert statement.balance >= 0 and statement.overpaid >= 0
        assert statement.balance == 0 or statement.overpaid == 0
        assert balance(statement.lines, statement.payments) == (statement.total_claimed - statement.total_paid)
        for allocation in statement.allocations:
            assert (
                allocation.to_costs + allocation.to_interest + allocation.to_principal + allocation.unapplied
                == allocation.amount
            )
        paid_principal = sum(a.to_principal for a in statement.allocations)
        paid_costs = sum(a.to_costs for a in statement.allocations)
        paid_interest = sum(a.to_interest for a in statement.allocations)
        unapplied = sum(a.unapplied for a in statement.allocations)
        interest = sum(line.amount for line in statement.lines if line.type is LineType.LATE_PAYMENT_INTEREST)
        assert paid_principal <= principal
        assert paid_costs <= sum(fee.amount for fee in charged_fees)
        assert paid_interest <= interest
        assert difference == (
            (principal - paid_principal)
            + (sum(fee.amount for fee in charged_fees) - paid_costs)
            + (interest - paid_interest)
            - unapplied
        )
        assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in statement.lines)
        assert all(payment.paid_on <= as_of for payment in statement.payments)
        assert all((fee.from_date or due_date) <= as_of for fee in charged_fees)
