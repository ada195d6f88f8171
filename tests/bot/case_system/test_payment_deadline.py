"""The date to pay by: worked examples of each rule, in the order they apply."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.case_system.contract.enums import CaseStage
from bot.case_system.domain.payment_deadline import (
    DueInstallment,
    PayBy,
    PayByBasis,
    notice_deadline,
    pay_by,
    stage_deadline,
)

BALANCE = Decimal("2847.16")
TODAY = date(2026, 11, 25)
INKASSOVARSEL = CaseStage.INKASSOVARSEL
BETALINGSOPPFORDRING = CaseStage.BETALINGSOPPFORDRING


def pay_by_for(**facts) -> PayBy:
    """`pay_by` for an inkassovarsel case owing BALANCE today, with `facts` on top."""
    return pay_by(**{"stage": INKASSOVARSEL, "balance": BALANCE, "today": TODAY, **facts})


# --- the stage's letter --------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [INKASSOVARSEL, BETALINGSOPPFORDRING])
def test_both_letters_give_fourteen_days_with_a_source(stage):
    rule = stage_deadline(stage)
    assert rule.days == 14
    assert "14 dager" in rule.source and "https://" in rule.source


def test_legal_collection_letters_carry_no_deadline_of_ours():
    assert stage_deadline(CaseStage.LEGAL_COLLECTION) is None
    assert notice_deadline(CaseStage.LEGAL_COLLECTION, date(2026, 4, 14)) is None


@pytest.mark.parametrize(
    "sent_on, deadline",
    [
        # Sent on a Monday: fourteen days later is a Monday, a bank day.
        (date(2026, 11, 16), date(2026, 11, 30)),
        # Sent on a Wednesday, the day sent not counted: Wednesday two weeks later.
        (date(2026, 10, 7), date(2026, 10, 21)),
        # Sent on a Saturday or a Sunday: the deadline falls on one too and moves to Monday.
        (date(2026, 11, 14), date(2026, 11, 30)),
        (date(2026, 11, 15), date(2026, 11, 30)),
        # Lands on Christmas Eve (banks closed) 2026: Christmas Day and the weekend follow.
        (date(2026, 12, 10), date(2026, 12, 28)),
        # Lands on New Year's Eve 2026 (banks closed), then New Year's Day, then the weekend.
        (date(2026, 12, 17), date(2027, 1, 4)),
        # Easter 2027: Maundy Thursday 25 March to Easter Monday 29 March are not bank days.
        (date(2027, 3, 11), date(2027, 3, 30)),
        (date(2027, 3, 12), date(2027, 3, 30)),
        (date(2027, 3, 15), date(2027, 3, 30)),
    ],
)
@pytest.mark.parametrize("stage", [INKASSOVARSEL, BETALINGSOPPFORDRING])
def test_the_deadline_is_fourteen_days_after_sending_moved_to_a_bank_day(stage, sent_on, deadline):
    assert notice_deadline(stage, sent_on) == deadline


def test_a_notice_gives_its_deadline_and_the_balance():
    assert pay_by_for(printed_deadline=date(2026, 11, 30)) == PayBy(
        date(2026, 11, 30), BALANCE, PayByBasis.NOTICE, passed=False
    )


def test_the_date_is_the_one_printed_in_the_letter_not_the_legal_minimum():
    """A collection notice sent Monday 16 November 2026 that gave until Friday 4 December: the
    minimum would be 30 November, but the letter said 4 December, so 4 December is the date."""
    assert notice_deadline(INKASSOVARSEL, date(2026, 11, 16)) == date(2026, 11, 30)
    result = pay_by_for(printed_deadline=date(2026, 12, 4), today=date(2026, 12, 1))
    assert (result.date, result.basis, result.passed) == (date(2026, 12, 4), PayByBasis.NOTICE, False)


@pytest.mark.parametrize(
    "today, passed",
    [
        (date(2026, 10, 20), False),  # the day before
        (date(2026, 10, 21), False),  # the deadline itself: paying that day is in time
        (date(2026, 10, 22), True),  # the day after
        (date(2026, 11, 25), True),
    ],
)
def test_a_deadline_has_passed_only_once_its_day_is_over(today, passed):
    result = pay_by_for(stage=BETALINGSOPPFORDRING, today=today, printed_deadline=date(2026, 10, 21))
    assert (result.date, result.passed) == (date(2026, 10, 21), passed)


def test_without_the_letter_on_record_there_is_no_date_to_pay_by():
    assert pay_by_for() == PayBy(None, BALANCE, PayByBasis.NONE)


# --- what comes before the letter ----------------------------------------------------------------

PLAN = (
    DueInstallment(date(2026, 12, 28), Decimal("500.00")),  # given out of order: the earliest counts
    DueInstallment(date(2026, 12, 9), Decimal("500.00")),
    DueInstallment(date(2027, 1, 28), Decimal("347.16")),
)


def test_a_payment_plan_beats_the_letter_with_its_next_unpaid_installment():
    result = pay_by_for(stage=BETALINGSOPPFORDRING, printed_deadline=date(2026, 10, 21), unpaid_installments=PLAN)
    assert result == PayBy(date(2026, 12, 9), Decimal("500.00"), PayByBasis.PAYMENT_PLAN, passed=False)


def test_a_missed_installment_is_the_one_to_pay_and_has_passed():
    missed = DueInstallment(date(2026, 11, 9), Decimal("500.00"))
    result = pay_by_for(unpaid_installments=(missed, *PLAN))
    assert result == PayBy(date(2026, 11, 9), Decimal("500.00"), PayByBasis.PAYMENT_PLAN, passed=True)


def test_a_plan_beats_a_postponement():
    result = pay_by_for(unpaid_installments=PLAN, postponed_to=date(2026, 12, 4))
    assert result.basis is PayByBasis.PAYMENT_PLAN


def test_a_postponement_beats_the_letter_and_asks_for_the_balance():
    result = pay_by_for(printed_deadline=date(2026, 11, 30), postponed_to=date(2026, 12, 15))
    assert result == PayBy(date(2026, 12, 15), BALANCE, PayByBasis.POSTPONEMENT, passed=False)


def test_a_postponement_that_ran_out_has_passed():
    result = pay_by_for(postponed_to=date(2026, 11, 20))
    assert (result.basis, result.passed) == (PayByBasis.POSTPONEMENT, True)


def test_legal_collection_has_no_date_even_with_a_notice_date():
    result = pay_by_for(stage=CaseStage.LEGAL_COLLECTION, printed_deadline=date(2026, 3, 30))
    assert result == PayBy(None, BALANCE, PayByBasis.LEGAL_COLLECTION, passed=False)


def test_stopped_collection_asks_for_no_date_whatever_else_there_is():
    result = pay_by_for(printed_deadline=date(2026, 11, 30), postponed_to=date(2026, 12, 15), collection_stopped=True)
    assert result == PayBy(None, BALANCE, PayByBasis.COLLECTION_STOPPED)


@pytest.mark.parametrize("closed, balance", [(True, Decimal("0.00")), (False, Decimal("0.00")), (True, BALANCE)])
def test_nothing_to_pay_has_no_date(closed, balance):
    result = pay_by_for(balance=balance, printed_deadline=date(2026, 11, 30), closed=closed)
    assert (result.date, result.basis, result.passed) == (None, PayByBasis.NONE, False)


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        pay_by_for(balance=2847.16)
