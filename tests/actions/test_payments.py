"""Payment, postponement, dispute, hardship and case-choice actions against a real case system."""

from __future__ import annotations

from decimal import Decimal

from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import Caller, CaseSystemClient
from actions.claims import ActionAnswerTopic
from actions.disputes import ActionRecordDispute
from actions.formatting import money
from actions.hardship import ActionRespondToHardship
from actions.payments import (
    ActionChooseCase,
    ActionCreatePaymentPlan,
    ActionDeclinePaymentPlan,
    ActionQuotePaymentPlan,
    ActionRequestPostponement,
)
from tests.actions.conftest import make_tracker, responses, slot_events

CALLER = Caller(conversation_id="test", channel="rest", purpose="test")
OLA = {"verified": True, "verified_case_number": "100003", "case_numbers": ["100002", "100003"]}


async def run(action, slots: dict, text: str = "", intent: str = "inform") -> tuple[CollectingDispatcher, dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots, text=text)
    tracker.latest_message["intent"] = {"name": intent}
    events = await action.run(dispatcher, tracker, {})
    return dispatcher, slot_events(events)


def said(dispatcher: CollectingDispatcher, response: str) -> dict:
    return next(message for message in dispatcher.messages if message.get("response") == response)


async def test_a_quote_is_said_with_the_case_systems_figures_and_kept_for_acceptance(client: CaseSystemClient):
    dispatcher, slots = await run(ActionQuotePaymentPlan(), {**OLA, "amount": 100000})
    answer = await client.quote_payment_plan("100003", {"monthly_amount": "1000.00"}, caller=CALLER)
    quote = answer.quote
    assert said(dispatcher, "utter_plan_quote")["monthly_amount"] == money(quote.monthly_amount, "nb")
    assert said(dispatcher, "utter_plan_quote")["total"] == money(quote.total, "nb")
    assert "utter_plan_no_fee" in responses(dispatcher) and "utter_ask_accept_plan" in responses(dispatcher)
    assert said(dispatcher, "utter_plan_interest")["estimated_interest"] == money(quote.estimated_interest, "nb")
    assert slots["payment_flow"] == "plan_offered"
    assert slots["plan_terms"] == {"monthly_amount": "1000.00", "first_due_date": quote.first_due_date.isoformat()}
    assert slots["amount"] is None  # the proposal is answered


async def test_accepting_creates_the_plan_once_and_says_its_schedule(client: CaseSystemClient, settings):
    _, offered = await run(ActionQuotePaymentPlan(), {**OLA, "months": 6})
    accepted = {**OLA, "payment_flow": "plan_offered", "plan_terms": offered["plan_terms"]}
    dispatcher, slots = await run(ActionCreatePaymentPlan(), accepted)
    await run(ActionCreatePaymentPlan(), accepted)  # a repeated yes
    plans = await client.list_payment_plans("100003", caller=CALLER)
    assert len(plans) == 1
    created = said(dispatcher, "utter_plan_created")
    for item in plans[0].installments:
        assert money(item.amount, "nb") in created["schedule"]
    assert created["account_number"] == settings.agency_account_number
    assert created["kid"] == (await client.get_case("100003", caller=CALLER)).kid
    assert "utter_plan_sms_queued" in responses(dispatcher) and slots["payment_flow"] is None


async def test_an_unsure_yes_is_asked_again_and_only_a_clear_one_creates_the_plan(client: CaseSystemClient):
    _, offered = await run(ActionQuotePaymentPlan(), {**OLA, "months": 6})
    offer = {**OLA, "payment_flow": "plan_offered", "plan_terms": offered["plan_terms"]}

    unsure = make_tracker(offer, text="jø")
    unsure.latest_message["intent"] = {"name": "affirm", "confidence": 0.6}
    dispatcher = CollectingDispatcher()
    assert await ActionCreatePaymentPlan().run(dispatcher, unsure, {}) == []  # the offer stands
    assert responses(dispatcher) == ["utter_ask_accept_plan_clearly"]
    assert await client.list_payment_plans("100003", caller=CALLER) == []

    sure = make_tracker(offer, text="ja takk")
    sure.latest_message["intent"] = {"name": "affirm", "confidence": 0.96}
    dispatcher = CollectingDispatcher()
    await ActionCreatePaymentPlan().run(dispatcher, sure, {})
    assert "utter_plan_created" in responses(dispatcher)
    assert len(await client.list_payment_plans("100003", caller=CALLER)) == 1


async def test_an_active_plan_is_shown_instead_of_a_second(client: CaseSystemClient):
    _, offered = await run(ActionQuotePaymentPlan(), {**OLA, "months": 6})
    await run(ActionCreatePaymentPlan(), {**OLA, "plan_terms": offered["plan_terms"]})
    dispatcher, slots = await run(ActionQuotePaymentPlan(), {**OLA, "months": 3})
    assert responses(dispatcher) == ["utter_plan_active"] and slots["payment_flow"] is None
    assert len(await client.list_payment_plans("100003", caller=CALLER)) == 1


async def test_outside_the_policy_the_nearest_plan_is_offered_and_no_hands_the_proposal_to_a_person(client):
    lars = {"verified": True, "verified_case_number": "100005", "case_numbers": ["100005"]}
    dispatcher, slots = await run(ActionQuotePaymentPlan(), {**lars, "amount": 30000})
    assert said(dispatcher, "utter_plan_problem_installment_below_minimum")["min_installment"] == money("500.00", "nb")
    assert "utter_ask_accept_alternative" in responses(dispatcher) and slots["payment_flow"] == "plan_alternative"
    declined, _ = await run(ActionDeclinePaymentPlan(), {**lars, **slots})
    assert responses(declined) == ["utter_plan_own_terms_to_caseworker", "utter_handoff_created"]
    (handoff,) = [h for h in (await client._request("GET", "/handoffs", path="/handoffs"))["handoffs"]]
    assert handoff["reason"] == "payment_plan" and "monthly_amount=300.00" in handoff["summary"]
    assert await client.list_payment_plans("100005", caller=CALLER) == []


async def test_zero_or_negative_amounts_get_a_clear_answer_and_nothing_is_written(client):
    for ore in (0, -50000):
        dispatcher, slots = await run(ActionQuotePaymentPlan(), {**OLA, "amount": ore})
        assert responses(dispatcher) == ["utter_plan_invalid_monthly_amount"] and slots["payment_flow"] is None
    assert await client.list_payment_plans("100003", caller=CALLER) == []


async def test_postponement_asks_for_a_date_then_grants_it(client):
    kari = {"verified": True, "verified_case_number": "100001", "case_numbers": ["100001"]}
    asked, slots = await run(ActionRequestPostponement(), kari)
    assert responses(asked) == ["utter_ask_postponement_date"] and slots["payment_flow"] == "postponement_date_needed"
    from datetime import date, timedelta

    wanted = (date.today() + timedelta(days=7)).isoformat()
    granted, slots = await run(ActionRequestPostponement(), {**kari, "date": wanted})
    assert responses(granted) == ["utter_postponement_granted"] and slots["payment_flow"] is None
    too_long, _ = await run(
        ActionRequestPostponement(), {**kari, "date": (date.today() + timedelta(days=60)).isoformat()}
    )
    assert responses(too_long)[0] in ("utter_postponement_too_long", "utter_postponement_already_postponed")
    assert responses(too_long)[-1] == "utter_handoff_created"


async def test_a_dispute_is_recorded_with_the_debtors_words_and_handed_off(client):
    lars = {"verified": True, "verified_case_number": "100005", "case_numbers": ["100005"]}
    dispatcher, _ = await run(ActionRecordDispute(), lars, text="jeg har aldri bestilt dette", intent="dispute_claim")
    assert responses(dispatcher) == ["utter_dispute_recorded", "utter_handoff_created"]
    case = await client.get_case("100005", caller=CALLER)
    assert case.disputed is True and case.collection_stopped is True


async def test_crisis_words_hand_off_with_priority_and_give_sourced_numbers(client):
    dispatcher, slots = await run(
        ActionRespondToHardship(), {}, text="jeg vil ikke leve lenger", intent="report_hardship"
    )
    contacts = said(dispatcher, "utter_crisis_contacts")
    assert (contacts["emergency_phone"], contacts["helpline_phone"]) == ("113", "116 123")
    assert slots["payment_flow"] == "crisis"
    (handoff,) = (await client._request("GET", "/handoffs", path="/handoffs"))["handoffs"]
    assert (handoff["reason"], handoff["priority"], handoff["case_number"]) == ("hardship", "high", None)


async def test_hardship_without_crisis_gets_debt_advice_and_a_priority_offer(client):
    dispatcher, slots = await run(ActionRespondToHardship(), {}, text="jeg har mistet jobben", intent="report_hardship")
    assert responses(dispatcher) == ["utter_hardship_empathy", "utter_debt_advice"]
    assert said(dispatcher, "utter_debt_advice")["debt_advice_phone"] == "55 55 33 39"
    assert slots == {"payment_flow": "hardship_offered", "handoff_reason": "hardship"}


async def test_a_debtor_with_two_cases_can_switch_only_to_their_own(client):
    dispatcher, slots = await run(
        ActionChooseCase(), {**OLA, "verified_case_number": "100002", "case_number": "100003"}
    )
    assert responses(dispatcher) == ["utter_case_chosen", "utter_verified_what_next"]
    assert slots["verified_case_number"] == "100003"
    dispatcher, slots = await run(ActionChooseCase(), {**OLA, "case_number": "100001"})
    assert responses(dispatcher) == ["utter_case_not_among_yours"] and "verified_case_number" not in slots


async def test_the_answer_offers_the_other_case_with_buttons(client):
    dispatcher, _ = await run(
        ActionAnswerTopic(), {**OLA, "verified_case_number": "100002", "pending_topic": "balance"}
    )
    choice = said(dispatcher, "utter_choose_case")
    assert choice["case_count"] == 2
    assert choice["buttons"] == [{"title": "100003", "payload": '/inform{"case_number":"100003"}'}]


async def test_a_plan_asked_before_verification_is_quoted_once_verified(client):
    dispatcher, slots = await run(ActionAnswerTopic(), {**OLA, "pending_topic": "payment_plan"})
    assert "utter_plan_quote" in responses(dispatcher) and slots["payment_flow"] == "plan_offered"
    total = Decimal((await client.get_case("100003", caller=CALLER)).balance)
    assert said(dispatcher, "utter_plan_quote")["total"] == money(total, "nb")
