"""Issue 20, claim maths and fees, as worked examples: the leap-year day count, a due date on a
weekend or holiday, the exact 37.50 cap, and when a fee may be charged at all (inkassoforskriften
§§ 1-2 and 1-3, inkassoloven §§ 9 and 17, tungt salær), with the letters' printed deadlines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.case_system.contract.enums import FeeBreach, LineType, NoticeKind
from bot.case_system.domain.bank_days import is_bank_day, payment_due_date
from bot.case_system.domain.claims import ClaimLine, Payment, claim_statement
from bot.case_system.domain.demo_data import CASES
from bot.case_system.domain.fee_rules import CaseFeeFacts, NoticeFacts, review_case_fees
from bot.case_system.domain.interest import (
    HalfYear,
    RatePeriod,
    RateTable,
    late_payment_interest,
    load_default_rate_table,
)
from bot.case_system.domain.payment_deadline import notice_deadline
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import Case, ClaimLineRecord, Notice

D = Decimal
RATES = load_default_rate_table()
REMINDER, NOTICE_FEE, SALARY = LineType.REMINDER_FEE, LineType.COLLECTION_NOTICE_FEE, LineType.COLLECTION_FEE
PURRING, INKASSOVARSEL, BETALINGSOPPFORDRING = (
    NoticeKind.REMINDER,
    NoticeKind.COLLECTION_NOTICE,
    NoticeKind.PAYMENT_DEMAND,
)


def twelve_percent(*labels: str) -> RateTable:
    periods = []
    for label in labels:
        half_year = HalfYear.parse(label)
        periods.append(RatePeriod(half_year.start, half_year.end, D("12.00"), "test rate", False))
    return RateTable(periods)


# --- 1. interest per calendar year; a leap-year day is 1/366 -------------------------------------


def test_ten_thousand_at_twelve_percent_over_all_of_2028_is_1200_exactly():
    """2028 is a leap year: 182 days in H1 and 184 in H2, each 1/366 of the annual rate.
    10 000 × 0.12 × 182 / 366 + 10 000 × 0.12 × 184 / 366 = 10 000 × 0.12 × 366 / 366 = 1 200.00
    (dividing by 365 gave 1 203.29)."""
    result = late_payment_interest(
        D("10000.00"), date(2028, 1, 1), date(2028, 12, 31), twelve_percent("2028-H1", "2028-H2")
    )
    assert result.amount == D("1200.00")
    assert [(period.days, period.amount) for period in result.periods] == [(182, D("596.72")), (184, D("603.28"))]


def test_a_stretch_across_new_year_counts_each_day_in_its_own_year():
    """10 000 at 12 % from 1 December 2027 to 31 January 2028:
    December (2027, 365 days): 10 000 × 0.12 × 31 / 365 = 101.9178…
    January (2028, 366 days):  10 000 × 0.12 × 31 / 366 = 101.6393…
    total 203.5571… → 203.56 (rounded once, half up); shown 101.92 + 101.64."""
    result = late_payment_interest(
        D("10000.00"), date(2027, 12, 1), date(2028, 1, 31), twelve_percent("2027-H2", "2028-H1")
    )
    assert result.amount == D("203.56")
    assert [(period.start, period.end, period.amount) for period in result.periods] == [
        (date(2027, 12, 1), date(2027, 12, 31), D("101.92")),
        (date(2028, 1, 1), date(2028, 1, 31), D("101.64")),
    ]


# --- 2. a due date on a weekend or public holiday -------------------------------------------------


@pytest.mark.parametrize(
    "due, in_time_until",
    [
        (date(2026, 8, 15), date(2026, 8, 17)),  # Kari's 100001: Saturday -> Monday
        (date(2026, 2, 15), date(2026, 2, 16)),  # Ingrid's 100006: Sunday -> Monday
        (date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday -> past Easter Monday to Tuesday
        (date(2026, 5, 17), date(2026, 5, 18)),  # Constitution Day on a Sunday -> Monday
        (date(2026, 9, 15), date(2026, 9, 15)),  # a Tuesday stays
    ],
)
def test_payment_on_the_next_bank_day_is_in_time(due, in_time_until):
    assert payment_due_date(due) == in_time_until


def test_kari_paying_on_monday_17_august_pays_no_interest():
    """100001: 2 450.00 due Saturday 15 August 2026. Paid in full on Monday 17 August: in time,
    no interest. Unpaid on Tuesday 18 August: one day, 2 450 × 0.12 / 365 = 0.8054… → 0.81."""
    paid_monday = claim_statement(
        principal=D("2450.00"),
        due_date=date(2026, 8, 15),
        fees=(),
        payments=[Payment(date(2026, 8, 17), D("2450.00"))],
        as_of=date(2026, 8, 31),
        rates=RATES,
    )
    assert paid_monday.balance == D("0.00") and paid_monday.overpaid == D("0.00")
    assert [line.type for line in paid_monday.lines] == [LineType.PRINCIPAL]
    unpaid_tuesday = claim_statement(
        principal=D("2450.00"), due_date=date(2026, 8, 15), fees=(), payments=(), as_of=date(2026, 8, 18), rates=RATES
    )
    assert unpaid_tuesday.balance == D("2450.81")


def test_the_reminder_fee_counts_its_fourteen_days_from_the_moved_due_date():
    """100001: in time until Monday 17 August, so a reminder fee needs a letter sent on or after
    Monday 31 August; one sent Saturday 29 August (14 days after the Saturday) is too early."""
    facts = CaseFeeFacts(principal=D("2450.00"), due_date=date(2026, 8, 15))
    early, in_time = fee(REMINDER, "37.50", date(2026, 8, 29)), fee(REMINDER, "37.50", date(2026, 8, 31))
    (early_check,) = review_case_fees([early], facts, RATES)
    (in_time_check,) = review_case_fees([in_time], facts, RATES)
    assert (early_check.cap, early_check.over_cap, early_check.breaches) == (D("0.00"), True, (FeeBreach.TOO_EARLY,))
    assert (in_time_check.cap, in_time_check.over_cap, in_time_check.breaches) == (D("37.50"), False, ())


# --- 3. the 2026-H2 rate ------------------------------------------------------------------------


def test_the_second_half_of_2026_has_no_sourced_rate_and_is_flagged():
    assert RATES.unsourced_periods(until=date(2026, 12, 31)) == ["2026-H2"]
    (period,) = RATES.periods_between(date(2026, 8, 18), date(2026, 8, 18))
    assert (period.rate_percent, period.provisional, period.source) == (D("12.00"), True, None)


# --- 4. exact caps ------------------------------------------------------------------------------


def test_a_38_kroner_reminder_in_2026_is_50_ore_over_the_exact_cap():
    facts = CaseFeeFacts(principal=D("2450.00"), due_date=date(2026, 8, 15))
    (check,) = review_case_fees([fee(REMINDER, "38.00", date(2026, 8, 31))], facts, RATES)
    assert (check.cap, check.over_cap, check.breaches) == (D("37.50"), True, ())


# --- 5. when a fee may be charged at all ---------------------------------------------------------

DUE = date(2026, 9, 15)  # a Tuesday
FIRST_REMINDER = NoticeFacts(PURRING, date(2026, 9, 29), date(2026, 10, 13))


def fee(line_type: LineType, amount: str, charged_on: date) -> ClaimLine:
    return ClaimLine(type=line_type, amount=D(amount), description="", from_date=charged_on)


def breaches(lines, **facts) -> list[tuple]:
    case = CaseFeeFacts(**{"principal": D("1199.00"), "due_date": DUE, **facts})
    return [check.breaches for check in review_case_fees(lines, case, RATES)]


def test_two_reminders_after_the_first_ran_out_are_allowed_a_third_is_not():
    """§ 1-3: fees for at most two reminders. The second is sent 14 October, after the first's
    14-day deadline (13 October) ran out; a third on 30 October is one too many."""
    second = NoticeFacts(PURRING, date(2026, 10, 14), date(2026, 10, 28))
    lines = [fee(REMINDER, "37.50", date(2026, 9, 29)), fee(REMINDER, "37.50", date(2026, 10, 14))]
    assert breaches(lines, notices=(FIRST_REMINDER, second)) == [(), ()]
    lines.append(fee(REMINDER, "37.50", date(2026, 10, 30)))
    assert breaches(lines, notices=(FIRST_REMINDER, second)) == [(), (), (FeeBreach.COMBINATION,)]


def test_a_second_fee_before_the_first_reminder_ran_out_is_not_allowed():
    """§ 1-3 second sentence: the collection notice of 5 October came before the first
    reminder's deadline of 13 October; a reminder giving only 10 days does not count either."""
    lines = [fee(REMINDER, "37.50", date(2026, 9, 29)), fee(NOTICE_FEE, "37.50", date(2026, 10, 5))]
    assert breaches(lines, notices=(FIRST_REMINDER,)) == [(), (FeeBreach.FIRST_REMINDER_DEADLINE,)]
    short = NoticeFacts(PURRING, date(2026, 9, 29), date(2026, 10, 9))
    lines = [fee(REMINDER, "37.50", date(2026, 9, 29)), fee(NOTICE_FEE, "37.50", date(2026, 10, 14))]
    assert breaches(lines, notices=(short,)) == [(), (FeeBreach.FIRST_REMINDER_DEADLINE,)]
    assert breaches(lines, notices=(FIRST_REMINDER,)) == [(), ()]  # a reminder, then a notice: allowed


def test_two_reminders_and_a_collection_notice_fee_is_a_combination_the_regulation_does_not_allow():
    second = NoticeFacts(PURRING, date(2026, 10, 14), date(2026, 10, 28))
    lines = [
        fee(REMINDER, "37.50", date(2026, 9, 29)),
        fee(REMINDER, "37.50", date(2026, 10, 14)),
        fee(NOTICE_FEE, "37.50", date(2026, 10, 30)),
    ]
    assert breaches(lines, notices=(FIRST_REMINDER, second)) == [(), (FeeBreach.COMBINATION,), (FeeBreach.COMBINATION,)]


COLLECTION_NOTICE = NoticeFacts(INKASSOVARSEL, date(2026, 10, 14), date(2026, 10, 28))


def test_no_collection_fee_without_a_collection_notice_that_ran_out():
    """Inkassoloven § 9 and § 17 fourth paragraph: none on record, or charged on its last day."""
    assert breaches([fee(SALARY, "280.00", date(2026, 11, 2))]) == [(FeeBreach.NO_EXPIRED_COLLECTION_NOTICE,)]
    on_deadline = fee(SALARY, "280.00", date(2026, 10, 28))
    assert breaches([on_deadline], notices=(COLLECTION_NOTICE,)) == [(FeeBreach.NO_EXPIRED_COLLECTION_NOTICE,)]
    assert breaches([fee(SALARY, "280.00", date(2026, 11, 2))], notices=(COLLECTION_NOTICE,)) == [()]


def test_no_collection_fee_when_the_debtor_paid_within_the_collection_notices_deadline():
    """§ 17 third paragraph: 1 199.00 due 15 September 2026, paid with interest on 28 October, the
    notice's last day: 1 199 × 0.12 × 43 / 365 = 16.95, so 1 215.95 settles it; a fee charged after
    that is flagged. Paid a day late, the fee stands (at 0.40 × 750 = 300.00 at most)."""
    salary = fee(SALARY, "280.00", date(2026, 11, 2))
    in_time = [Payment(date(2026, 10, 28), D("1215.95"))]
    assert breaches([salary], notices=(COLLECTION_NOTICE,), payments=in_time) == [
        (FeeBreach.PAID_WITHIN_COLLECTION_NOTICE,)
    ]
    late = [Payment(date(2026, 10, 29), D("1215.95"))]
    (check,) = review_case_fees(
        [salary], CaseFeeFacts(D("1199.00"), DUE, notices=(COLLECTION_NOTICE,), payments=late), RATES
    )
    assert (check.cap, check.over_cap, check.breaches) == (D("300.00"), False, ())


def test_no_costs_after_an_objection_was_registered():
    """§ 17 second paragraph: a dispute registered 20 October; the reminder fee of 29 September
    stands, the collection fee of 2 November is flagged."""
    lines = [fee(REMINDER, "37.50", date(2026, 9, 29)), fee(SALARY, "280.00", date(2026, 11, 2))]
    result = breaches(lines, notices=(FIRST_REMINDER, COLLECTION_NOTICE), objections_received_on=(date(2026, 10, 20),))
    assert result == [(), (FeeBreach.OBJECTION_BEFORE_FEE,)]


def test_the_heavy_collection_fee_only_after_the_payment_demand_ran_out_unpaid():
    """Lars's 100005: 14 500.00, heavy cap 3.20 × 750 = 2 400.00, light 1.60 × 750 = 1 200.00. Charged
    22 April after the payment demand's deadline of 21 April: allowed. Charged 20 April, before it
    ran out: capped at the light rate and flagged."""
    notices = (
        NoticeFacts(INKASSOVARSEL, date(2026, 3, 17), date(2026, 3, 31)),
        NoticeFacts(BETALINGSOPPFORDRING, date(2026, 4, 7), date(2026, 4, 21)),
    )
    facts = CaseFeeFacts(principal=D("14500.00"), due_date=date(2026, 2, 14), notices=notices)
    (after,) = review_case_fees([fee(SALARY, "2400.00", date(2026, 4, 22))], facts, RATES)
    assert (after.cap, after.over_cap, after.breaches) == (D("2400.00"), False, ())
    (before,) = review_case_fees([fee(SALARY, "2400.00", date(2026, 4, 20))], facts, RATES)
    assert (before.cap, before.over_cap, before.breaches) == (D("1200.00"), True, (FeeBreach.HEAVY_FEE_CONDITIONS,))


def test_every_demo_fee_keeps_every_rule():
    for spec in CASES:
        facts = CaseFeeFacts(
            principal=spec.principal,
            due_date=spec.due_date,
            notices=tuple(NoticeFacts(n.kind, n.sent_on, n.deadline) for n in spec.notices),
            payments=tuple(Payment(paid_on, amount) for paid_on, amount in spec.payments),
        )
        lines = [fee(item.type, "0.00", item.charged_on) for item in spec.fees]
        assert [check.breaches for check in review_case_fees(lines, facts, RATES)] == [()] * len(lines), (
            spec.case_number
        )


# --- 5 and 6 through the API: flagged like an excess; the printed deadline is quoted -------------


async def _case(client, auth, number: str) -> dict:
    response = await client.get(f"/api/v1/cases/{number}", headers=auth)
    assert response.status == 200
    return await response.json()


async def _case_id(session, number: str) -> int:
    return (await session.execute(sa.select(Case.id).where(Case.case_number == number))).scalar_one()


async def test_a_fee_breaking_a_rule_is_flagged_and_sent_for_review_like_an_excess(client, auth):
    """100002: a second reminder fee on 1 October, before the first reminder's deadline of
    13 October ran out, may not be charged: its legal cap is 0.00."""
    async with client.app[CASE_SYSTEM].sessions() as session:
        session.add(
            ClaimLineRecord(
                case_id=await _case_id(session, "100002"),
                type="reminder_fee",
                amount=D("37.50"),
                description="Purregebyr 2",
                charged_on=date(2026, 10, 1),
            )
        )
        await session.commit()
    case = await _case(client, auth, "100002")
    flagged = [line for line in case["lines"] if line.get("over_cap")]
    assert [(line["from_date"], line["legal_cap"], line["rule_breaches"]) for line in flagged] == [
        ("2026-10-01", "0.00", ["first_reminder_deadline"])
    ]
    assert case["fees_over_cap"] is True
    body = {"channel": "web", "conversation_id": "web:law-2026"}
    response = await client.post("/api/v1/cases/100002/fee-reviews", json=body, headers=auth)
    assert response.status == 201
    assert [(fee["legal_cap"], fee["rule_breaches"]) for fee in (await response.json())["fees_over_cap"]] == [
        ("0.00", ["first_reminder_deadline"])
    ]
    assert (await _case(client, auth, "100002"))["fee_review_requested"] is True


async def test_the_case_shows_kari_s_letters_with_their_printed_deadlines(client, auth):
    case = await _case(client, auth, "100001")
    assert case["notices"] == [
        {"kind": "reminder", "sent_on": "2026-08-31", "deadline": "2026-09-14"},
        {"kind": "collection_notice", "sent_on": "2026-09-15", "deadline": "2026-09-29"},
        {"kind": "payment_demand", "sent_on": "2026-10-07", "deadline": "2026-10-21"},
    ]
    assert (case["pay_by"]["date"], case["pay_by"]["basis"], case["pay_by"]["passed"]) == ("2026-10-21", "notice", True)


async def test_the_date_to_pay_by_is_the_stored_printed_deadline_not_a_computed_one(client, auth):
    """100002's collection notice was sent 13 November; the legal minimum is 27 November. Had
    the letter said 4 December, 4 December is what the assistant quotes."""
    async with client.app[CASE_SYSTEM].sessions() as session:
        case_id = await _case_id(session, "100002")
        await session.execute(
            sa.update(Notice)
            .where(Notice.case_id == case_id, Notice.kind == NoticeKind.COLLECTION_NOTICE)
            .values(deadline=date(2026, 12, 4))
        )
        await session.commit()
    assert (await _case(client, auth, "100002"))["pay_by"]["date"] == "2026-12-04"


async def test_without_its_letter_on_record_a_case_states_no_date(client, auth):
    async with client.app[CASE_SYSTEM].sessions() as session:
        await session.execute(sa.delete(Notice).where(Notice.case_id == await _case_id(session, "100004")))
        await session.commit()
    assert (await _case(client, auth, "100004"))["pay_by"]["date"] is None


def test_the_demo_letters_print_lawful_deadlines_on_bank_days():
    stage_of = {INKASSOVARSEL: "inkassovarsel", BETALINGSOPPFORDRING: "betalingsoppfordring"}
    for spec in CASES:
        for letter in spec.notices:
            assert is_bank_day(letter.deadline), (spec.case_number, letter)
            if letter.kind in stage_of:
                assert letter.deadline == notice_deadline(stage_of[letter.kind], letter.sent_on)
            else:
                assert (letter.deadline - letter.sent_on).days >= 14
