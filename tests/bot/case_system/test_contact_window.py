"""The contact window for messages the agency starts, and the payment-plan rules behind its first
messages: worked examples over Easter 2027 and 17 May 2027 (Europe/Oslo)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from bot.case_system.domain import plan_tracking
from bot.case_system.domain.clock import OSLO
from bot.case_system.domain.contact_window import contact_hours, may_contact, send_not_before

HOURS = contact_hours()


def oslo(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=OSLO)


@pytest.mark.parametrize(
    "made, goes_out",
    [
        # Tuesday inside the window: at once.
        (oslo(2027, 3, 23, 12, 0), oslo(2027, 3, 23, 12, 0)),
        # Wednesday 21:30 before Easter: Maundy Thursday and Good Friday are holidays; Saturday opens at 09.
        (oslo(2027, 3, 24, 21, 30), oslo(2027, 3, 27, 9, 0)),
        # Maundy Thursday at noon: the same Saturday morning.
        (oslo(2027, 3, 25, 12, 0), oslo(2027, 3, 27, 9, 0)),
        # Easter Saturday after 15:00: Easter Sunday and Easter Monday are closed; Tuesday at 08.
        (oslo(2027, 3, 27, 15, 0), oslo(2027, 3, 30, 8, 0)),
        # Easter Sunday (the night clocks go forward): Tuesday at 08 summer time.
        (oslo(2027, 3, 28, 10, 0), oslo(2027, 3, 30, 8, 0)),
        # Saturday 15 May 16:00: Whit Sunday, then Constitution Day (and Whit Monday); Tuesday 18 May at 08.
        (oslo(2027, 5, 15, 16, 0), oslo(2027, 5, 18, 8, 0)),
        # 17 May itself, during what would be opening hours: closed.
        (oslo(2027, 5, 17, 12, 0), oslo(2027, 5, 18, 8, 0)),
        # A weekday before 08: the same day at 08; after 21: the next morning.
        (oslo(2027, 5, 18, 7, 59), oslo(2027, 5, 18, 8, 0)),
        (oslo(2027, 5, 18, 21, 0), oslo(2027, 5, 19, 8, 0)),
        # An ordinary Sunday: Monday at 08.
        (oslo(2027, 5, 23, 12, 0), oslo(2027, 5, 24, 8, 0)),
    ],
)
def test_a_queued_message_goes_out_when_the_window_next_opens(made, goes_out):
    assert send_not_before(made, HOURS) == goes_out
    assert may_contact(goes_out, HOURS)


def test_the_window_edges_saturdays_and_holidays():
    assert may_contact(oslo(2027, 3, 23, 8, 0), HOURS)
    assert may_contact(oslo(2027, 3, 23, 20, 59), HOURS)
    assert not may_contact(oslo(2027, 3, 23, 21, 0), HOURS)
    assert may_contact(oslo(2027, 3, 27, 9, 0), HOURS)  # Easter Saturday is no public holiday
    assert not may_contact(oslo(2027, 3, 27, 8, 59), HOURS)
    assert not may_contact(oslo(2027, 3, 27, 15, 0), HOURS)
    for holiday in (date(2027, 3, 25), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 17)):
        assert not may_contact(oslo(holiday.year, holiday.month, holiday.day, 12, 0), HOURS)


def test_the_window_is_configurable():
    weekdays_only = contact_hours("mon-fri 09:00-17:00")
    assert send_not_before(oslo(2027, 3, 24, 17, 30), weekdays_only) == oslo(2027, 3, 30, 9, 0)
    with pytest.raises(ValueError):
        contact_hours("every day")


# --- the plan rules behind reminders and breach notices -----------------------------------------

PLAN = [
    plan_tracking.PlannedInstallment(1, date(2027, 3, 27), Decimal("500.00")),
    plan_tracking.PlannedInstallment(2, date(2027, 4, 27), Decimal("500.00")),
    plan_tracking.PlannedInstallment(3, date(2027, 5, 27), Decimal("250.00")),
]


def test_payments_cover_installments_in_order_and_only_in_full():
    assert plan_tracking.covered_sequences(PLAN, Decimal("0.00")) == frozenset()
    assert plan_tracking.covered_sequences(PLAN, Decimal("999.99")) == {1}
    assert plan_tracking.covered_sequences(PLAN, Decimal("1000.00")) == {1, 2}
    assert plan_tracking.covered_sequences(PLAN, Decimal("1250.00")) == {1, 2, 3}
    paid = [(date(2027, 2, 1), Decimal("100.00")), (date(2027, 3, 1), Decimal("500.00"))]
    assert plan_tracking.paid_towards(date(2027, 2, 15), paid) == Decimal("500.00")


def test_a_late_installment_breaks_the_plan_counting_from_the_next_bank_day():
    # Due Easter Saturday; next bank day Tuesday 30 March; 14 days' grace ends 13 April.
    assert plan_tracking.breached_on(date(2027, 3, 27), 14) == date(2027, 4, 14)
    assert plan_tracking.first_breach(PLAN, frozenset(), today=date(2027, 4, 13), after_days=14) is None
    assert plan_tracking.first_breach(PLAN, frozenset(), today=date(2027, 4, 14), after_days=14) == PLAN[0]
    assert plan_tracking.first_breach(PLAN, frozenset({1}), today=date(2027, 4, 14), after_days=14) is None


def test_a_reminder_is_due_from_n_days_before_until_the_due_date():
    item = PLAN[1]  # due 27 April 2027
    due = {
        day: plan_tracking.reminder_due(
            item, covered=False, plan_made_on=date(2027, 3, 1), today=date(2027, 4, day), days_before=3
        )
        for day in (23, 24, 26, 27)
    }
    assert due == {23: False, 24: True, 26: True, 27: False}
    assert not plan_tracking.reminder_due(
        item, covered=True, plan_made_on=date(2027, 3, 1), today=date(2027, 4, 24), days_before=3
    )
    # A plan made after the reminder day: its confirmation has just told the debtor.
    assert not plan_tracking.reminder_due(
        item, covered=False, plan_made_on=date(2027, 4, 25), today=date(2027, 4, 25), days_before=3
    )
