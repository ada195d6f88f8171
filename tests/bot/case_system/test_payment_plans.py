"""Plan policy, quotes, postponements, fee flags and the confirmation text, with worked examples.

Worked example used throughout: a balance of 3 000,00 kr under the default policy (minimum
installment 300 kr, at most 24 months, first installment within 30 days, no plan fee), quoted on
Wednesday 25 November 2026.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.case_system.domain import fee_rules, fees
from bot.case_system.domain.bank_days import is_bank_day
from bot.case_system.domain.claims import ClaimLine, LineType, claim_statement
from bot.case_system.domain.interest import load_default_rate_table
from bot.case_system.domain.payment_plans import (
    ClaimFacts,
    InvalidProposal,
    PlanPolicy,
    PlanProposal,
    add_months,
    confirmation_sms,
    default_policy,
    first_due_date,
    idempotency_key,
    policy_for,
    quote_plan,
    schedule,
)
from bot.case_system.domain.postponements import decide_postponement

TODAY = date(2026, 11, 25)
RATES = load_default_rate_table()
POLICY = default_policy(
    min_installment_kr=300, max_months=24, first_due_within_days=30, plan_fee_kr=0, max_postponement_days=14
)
CLAIM = ClaimFacts(principal=Decimal("3000.00"), due_date=TODAY, fees=(), payments=())
BALANCE = Decimal("3000.00")


def quote(policy: PlanPolicy = POLICY, balance: Decimal = BALANCE, **proposal):
    return quote_plan(
        claim=CLAIM, balance=balance, proposal=PlanProposal(**proposal), policy=policy, today=TODAY, rates=RATES
    )


def amounts(plan) -> list[str]:
    return [str(item.amount) for item in plan.installments]


# --- policy --------------------------------------------------------------------------------------


def test_defaults_come_from_configuration_in_whole_kroner():
    assert POLICY == PlanPolicy(
        min_installment=Decimal("300.00"),
        max_months=24,
        first_due_within_days=30,
        plan_fee=Decimal("0.00"),
        max_postponement_days=14,
    )


def test_a_creditor_overrides_only_what_its_entry_names():
    nordlys = policy_for("927183455", POLICY)  # Nordlys Strøm AS
    assert (nordlys.min_installment, nordlys.max_months) == (Decimal("500.00"), 18)
    assert nordlys.first_due_within_days == 30 and nordlys.plan_fee == Decimal("0.00")
    assert policy_for("930451266", POLICY).max_months == 6  # Bykassen Treningssenter AS
    assert policy_for("000000000", POLICY) == POLICY


# --- worked examples -----------------------------------------------------------------------------


def test_monthly_amount_gives_equal_installments():
    plan = quote(monthly_amount=Decimal("500.00"))
    assert plan.acceptable and plan.problems == ()
    assert amounts(plan) == ["500.00"] * 6
    assert plan.months == 6 and plan.total == Decimal("3000.00")


def test_months_give_the_installment_rounded_up_to_whole_kroner_and_the_last_takes_the_rest():
    plan = quote(months=7)
    # 3000 / 7 = 428.57…, rounded up to 429; six times 429 is 2574, so the last is 426.
    assert amounts(plan) == ["429.00"] * 6 + ["426.00"]
    assert sum(item.amount for item in plan.installments) == plan.total


def test_the_plan_fee_is_part_of_the_quote_before_acceptance():
    with_fee = PlanPolicy(**{**POLICY.__dict__, "plan_fee": Decimal("50.00")})
    plan = quote(with_fee, monthly_amount=Decimal("500.00"))
    assert plan.fee == Decimal("50.00") and plan.total == Decimal("3050.00")
    assert amounts(plan) == ["500.00"] * 6 + ["50.00"]


def test_nothing_proposed_gives_the_lowest_installment_the_policy_allows():
    plan = quote()
    assert plan.acceptable and plan.monthly_amount == Decimal("300.00") and plan.months == 10


def test_interest_keeps_running_and_is_estimated_from_the_schedule():
    plan = quote(monthly_amount=Decimal("500.00"))
    # The same figure as the claim statement gives if every installment is paid on its day.
    from bot.case_system.domain.claims import Payment

    expected = claim_statement(
        principal=CLAIM.principal,
        due_date=CLAIM.due_date,
        fees=(),
        payments=[Payment(item.due_date, item.amount) for item in plan.installments],
        as_of=plan.installments[-1].due_date,
        rates=RATES,
    ).balance
    assert plan.estimated_interest == expected > 0
    assert plan.interest_rate_percent == RATES.periods_between(TODAY, TODAY)[0].rate_percent


# --- at and outside every limit ------------------------------------------------------------------


def test_installment_at_the_minimum_is_accepted_and_one_krone_below_is_not():
    assert quote(monthly_amount=Decimal("300.00")).acceptable
    below = quote(monthly_amount=Decimal("299.00"))
    assert below.problems == ("installment_below_minimum",)
    assert below.alternative is not None and below.alternative.acceptable
    assert below.alternative.monthly_amount == Decimal("300.00")


def test_the_maximum_number_of_months_is_accepted_and_one_more_is_not():
    large = Decimal("7200.00")  # 24 x 300
    assert quote(balance=large, months=24).acceptable
    too_long = quote(balance=large, months=25)
    assert "too_many_months" in too_long.problems
    assert too_long.alternative.months == 24 and too_long.alternative.acceptable


def test_a_small_installment_on_a_large_claim_gets_the_shortest_plan_within_the_maximum():
    plan = quote(balance=Decimal("14500.00"), monthly_amount=Decimal("300.00"))
    assert plan.problems == ("too_many_months",)
    # 14500 / 24 = 604.17, rounded up to 605.
    assert plan.alternative.monthly_amount == Decimal("605.00") and plan.alternative.months == 24


def test_one_installment_is_paying_in_full_and_the_alternative_is_two():
    assert quote(months=1).problems == ("covers_balance",)
    assert quote(months=1).alternative.months == 2
    assert quote(months=2).acceptable


def test_an_amount_that_covers_the_balance_is_paying_in_full():
    assert "covers_balance" in quote(monthly_amount=Decimal("3000.00")).problems
    assert "covers_balance" in quote(monthly_amount=Decimal("5000.00")).problems


def test_a_claim_below_two_minimum_installments_has_no_acceptable_plan():
    plan = quote(balance=Decimal("500.00"), months=2)
    assert plan.problems == ("installment_below_minimum",)
    assert plan.alternative is None


def test_first_due_date_at_the_limit_is_accepted_and_after_it_is_not():
    limit = TODAY + timedelta(days=30)  # Friday 25 December 2026: not a bank day
    plan = quote(monthly_amount=Decimal("500.00"), first_due_date=limit)
    assert plan.acceptable
    assert plan.first_due_date == date(2026, 12, 23)  # back to the last bank day within the limit
    late = quote(monthly_amount=Decimal("500.00"), first_due_date=limit + timedelta(days=1))
    assert late.problems == ("first_due_too_late",)
    assert late.alternative.first_due_date <= limit and late.alternative.acceptable


def test_the_default_first_due_date_is_two_weeks_away_on_a_bank_day():
    due, within = first_due_date(None, today=TODAY, within_days=30)
    assert (due, within) == (date(2026, 12, 9), True)


@pytest.mark.parametrize(
    "proposal, field",
    [
        ({"monthly_amount": Decimal("0")}, "monthly_amount"),
        ({"monthly_amount": Decimal("-500")}, "monthly_amount"),
        ({"monthly_amount": Decimal("100000000")}, "monthly_amount"),
        ({"monthly_amount": Decimal("10.005")}, "monthly_amount"),
        ({"monthly_amount": Decimal("NaN")}, "monthly_amount"),
        ({"months": 0}, "months"),
        ({"months": 601}, "months"),
        ({"first_due_date": TODAY - timedelta(days=1)}, "first_due_date"),
        ({"first_due_date": TODAY + timedelta(days=3 * 365)}, "first_due_date"),
    ],
)
def test_input_that_is_not_a_proposal_is_refused_with_the_field(proposal, field):
    with pytest.raises(InvalidProposal) as refused:
        quote(**proposal)
    assert refused.value.field == field


def test_a_float_amount_is_a_programming_error():
    with pytest.raises(TypeError):
        quote(monthly_amount=500.0)


# --- bank days -----------------------------------------------------------------------------------


def test_installments_move_past_christmas_and_easter_to_the_next_bank_day():
    installments = schedule(Decimal("1500.00"), Decimal("500.00"), date(2026, 12, 24))
    # 24 Dec 2026 (Christmas Eve, banks closed) -> Monday 28 Dec; 24 Jan 2027 is a Sunday -> 25 Jan;
    # 24 Feb 2027 is a Wednesday and stays.
    assert [item.due_date for item in installments] == [date(2026, 12, 28), date(2027, 1, 25), date(2027, 2, 24)]
    easter = schedule(Decimal("1000.00"), Decimal("500.00"), date(2027, 2, 25))
    # 25 March 2027 is Maundy Thursday; Good Friday, Easter weekend and Easter Monday follow.
    assert easter[1].due_date == date(2027, 3, 30)
    assert all(is_bank_day(item.due_date) for item in (*installments, *easter))


def test_months_keep_the_day_or_use_the_month_end():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)


# --- postponements -------------------------------------------------------------------------------


def test_postponement_up_to_the_limit_is_granted_on_a_bank_day():
    decision = decide_postponement(TODAY + timedelta(days=14), today=TODAY, max_days=14, already_postponed=False)
    assert decision.granted and decision.new_due_date == date(2026, 12, 9)
    weekend = decide_postponement(date(2026, 12, 5), today=TODAY, max_days=14, already_postponed=False)
    assert weekend.new_due_date == date(2026, 12, 7)  # Saturday -> Monday


def test_postponement_beyond_the_limit_or_a_second_one_is_for_a_caseworker():
    too_long = decide_postponement(TODAY + timedelta(days=15), today=TODAY, max_days=14, already_postponed=False)
    assert (too_long.granted, too_long.reason, too_long.latest_date) == (False, "too_long", date(2026, 12, 9))
    again = decide_postponement(TODAY + timedelta(days=5), today=TODAY, max_days=14, already_postponed=True)
    assert (again.granted, again.reason) == (False, "already_postponed")


@pytest.mark.parametrize("day", [TODAY, TODAY - timedelta(days=3), TODAY + timedelta(days=800)])
def test_postponement_to_today_the_past_or_years_away_is_refused(day):
    with pytest.raises(InvalidProposal):
        decide_postponement(day, today=TODAY, max_days=14, already_postponed=False)


# --- fee legality --------------------------------------------------------------------------------


def test_a_fee_above_its_cap_is_flagged_and_one_at_its_cap_is_not():
    charged = date(2025, 6, 2)
    checks = [
        fees.check_fee(line_type, Decimal(amount), principal=Decimal("2450.00"), charged_on=charged)
        for line_type, amount in [
            (LineType.REMINDER_FEE, "35.00"),
            (LineType.REMINDER_FEE, "70.00"),
            (LineType.COLLECTION_FEE, "560.00"),
        ]
    ]
    assert [check.over_cap for check in checks] == [False, True, True]  # light cap on 2450 kr is 280
    assert checks[2].cap == Decimal("280.00")
    heavy = fees.check_fee(
        LineType.COLLECTION_FEE, Decimal("560.00"), principal=Decimal("2450.00"), charged_on=charged, heavy=True
    )
    assert heavy.over_cap is False and heavy.cap == Decimal("560.00")


def test_a_fee_before_the_caps_on_record_is_not_judged():
    """A reminder fee of 2016, before the first inkassosats on record, that keeps every other rule."""
    old = ClaimLine(LineType.REMINDER_FEE, Decimal("99.00"), "", from_date=date(2016, 6, 1))
    facts = fee_rules.CaseFeeFacts(principal=Decimal("1000.00"), due_date=date(2016, 5, 2))
    assert fee_rules.review_case_fees([old], facts, load_default_rate_table()) == [None]


# --- idempotency and confirmation ----------------------------------------------------------------


def test_the_idempotency_key_depends_on_conversation_case_and_terms():
    key = idempotency_key("plan", "web:1", "100003", Decimal("500.00"), None, None)
    assert key == idempotency_key("plan", "web:1", "100003", Decimal("500.00"), None, None)
    assert key != idempotency_key("plan", "web:2", "100003", Decimal("500.00"), None, None)
    assert key != idempotency_key("plan", "web:1", "100003", Decimal("600.00"), None, None)
    assert len(key) <= 100


@pytest.mark.parametrize(
    "language, words",
    [
        ("nb", ["Nedbetalingsavtale", "09.12.2026: 500,00", "kontonummer 12345678903", "KID 0001000037"]),
        ("en", ["Payment plan", "2026-12-09: NOK", "account number 12345678903", "KID 0001000037"]),
    ],
)
def test_the_confirmation_sms_carries_schedule_account_and_kid(language, words):
    text = confirmation_sms(
        language=language,
        case_number="100003",
        creditor="Vestland Tannklinikk AS",
        installments=[(date(2026, 12, 9), Decimal("500.00")), (date(2027, 1, 11), Decimal("250.00"))],
        account_number="12345678903",
        kid="0001000037",
        agency_phone="33 74 45 00",
    )
    for word in words:
        assert word in text.replace("\u00a0", " ")
    assert "100003" in text and len(text) < 1600
