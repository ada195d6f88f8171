"""What a verified debtor is told about a claim equals what the case system holds."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache

import pytest
from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import Caller, CaseSystemClient
from actions.claims import ActionAnswerTopic
from actions.formatting import day, money, percent
from bot.config import REPO_ROOT
from tests.actions.conftest import make_tracker, responses

CALLER = Caller(conversation_id="test", channel="rest", purpose="test")
# The demo data's world: Emma's and Ola's letters' deadlines are ahead, Kari's has passed.
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def case_system_clock():
    return lambda: NOW


@lru_cache(maxsize=1)
def _domain() -> dict:
    return Domain.load(str(REPO_ROOT / "domain")).as_dict()


def _responses() -> dict:
    return _domain()["responses"]


def rendered(message: dict, language: str) -> str:
    """The text the debtor sees for `message`, from the domain's nb or en variation."""
    for variation in _responses()[message["response"]]:
        if ("condition" in variation) == (language == "en"):
            return interpolate_text(variation["text"], message).replace("\u00a0", " ")
    raise AssertionError(f"no {language} variation of {message['response']}")


async def answer(
    topic: str, case_number: str = "100001", language: str = "nb", channel: str = "socketio"
) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"verified": True, "verified_case_number": case_number, "pending_topic": topic, "language": language},
        channel=channel,
    )
    await ActionAnswerTopic().run(dispatcher, tracker, _domain())
    return dispatcher


def texts(dispatcher: CollectingDispatcher, language: str = "nb") -> list[str]:
    return [rendered(message, language) for message in dispatcher.messages if message.get("response")]


async def test_the_breakdown_is_one_message_that_reconciles_with_the_case_system(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("explain")
    assert responses(dispatcher)[:2] == ["utter_creditor", "utter_claim_breakdown"]
    breakdown = rendered(dispatcher.messages[1], "nb")
    items = breakdown.split("\n• ")
    assert items[0] == "Slik er beløpet i sak 100001 satt sammen:"
    assert len(items) == 1 + len(case.lines) + 1  # each line, then what is left to pay
    assert items[-1] == f"Å betale: {money(case.balance, 'nb')}".replace("\u00a0", " ")
    for item, line in zip(items[1:], case.lines):
        assert item.endswith(money(line.amount, "nb").replace("\u00a0", " "))
    total = sum(Decimal(line.amount) for line in case.lines) - Decimal(case.total_paid)
    assert total == Decimal(case.balance)


@pytest.mark.parametrize("channel, between", [("twilio_sms", "; "), ("twilio_voice", ". ")])
async def test_sms_and_the_phone_get_the_breakdown_in_a_compact_run(client: CaseSystemClient, channel, between) -> None:
    case = await client.get_case("100001", caller=CALLER)
    breakdown = rendered((await answer("explain", channel=channel)).messages[1], "nb")
    assert "\n" not in breakdown and "•" not in breakdown
    assert breakdown.count(between) >= len(case.lines)


async def test_the_balance_is_the_balance_not_the_whole_breakdown(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("balance")
    assert responses(dispatcher) == ["utter_balance"]
    assert dispatcher.messages[0]["balance"] == money(case.balance, "nb")


async def test_interest_is_explained_with_its_rate_period_reason_and_law(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    periods = [line for line in case.lines if line.type.value == "late_payment_interest"]
    assert periods
    dispatcher = await answer("interest")
    assert "utter_claim_breakdown" not in responses(dispatcher)
    nb = texts(dispatcher)[0]
    assert "forsinkelsesrenteloven § 3" in nb and "ikke ble betalt ved forfall" in nb
    for line in periods:
        assert f"{percent(line.rate_percent, 'nb')} %" in nb
        assert day(line.from_date, "nb") in nb and day(line.to_date, "nb") in nb
        assert money(line.amount, "nb").replace("\u00a0", " ") in nb
    en = texts(await answer("interest", language="en"), "en")[0]
    assert "Late Payment Interest Act (forsinkelsesrenteloven) § 3" in en and "until the claim is paid" in en


async def test_each_fee_is_explained_with_its_legal_cap_and_when_it_may_be_charged(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    fees = [line for line in case.lines if line.type.value.endswith("_fee")]
    assert {line.type.value for line in fees} >= {"reminder_fee", "collection_fee"}
    dispatcher = await answer("fees")
    assert responses(dispatcher)[0] == "utter_fees_explained"
    assert "utter_claim_breakdown" not in responses(dispatcher)
    text = texts(dispatcher)[0]
    assert text.startswith("Gebyrene på sak 100001:\n• ")
    for line in fees:
        assert f"Lovens tak: {money(line.legal_cap, 'nb')}".replace("\u00a0", " ") in text
    assert "minst 14 dager etter forfall" in text and "inkassoforskriften § 1-2" in text
    assert "inkassoloven § 17" in text and "fristen i inkassovarselet" in text


async def test_the_stage_says_what_happens_next_and_that_the_debtor_may_object(client: CaseSystemClient) -> None:
    dispatcher = await answer("stage")  # Kari: betalingsoppfordring, the letter's deadline passed
    assert responses(dispatcher)[:2] == ["utter_stage_betalingsoppfordring", "utter_stage_deadline_passed"]
    nb = texts(dispatcher)[0]
    assert "Du kan betale, eller du kan si fra" in nb and "inkassoloven § 10" in nb and "rettslig inndriving" in nb
    en = texts(await answer("stage", language="en"), "en")[0]
    assert "You can pay, or you can tell us by the deadline" in en and "§ 10" in en


async def test_legal_collection_says_what_it_means(client: CaseSystemClient) -> None:
    text = texts(await answer("stage", "100005"))[0]
    assert text.startswith("Saken er til rettslig inndriving.") and "trekk i lønn" in text


async def test_the_original_invoice_is_described(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("invoice")
    assert responses(dispatcher) == ["utter_invoice"]
    text = texts(dispatcher)[0]
    assert case.invoice.number in text and case.creditor.name in text and case.invoice.description.rstrip(".") in text


async def test_after_a_plan_and_a_dispute_the_balance_says_both(client: CaseSystemClient) -> None:
    plan = await client.create_payment_plan("100003", {"monthly_amount": "1000.00"}, caller=CALLER, language="nb")
    await client.create_dispute("100003", "Behandlingen ble aldri fullført.", caller=CALLER)
    dispatcher = await answer("balance", "100003")
    assert responses(dispatcher) == ["utter_balance", "utter_case_state_payment_plan", "utter_case_state_disputed"]
    first = plan.installments[0]
    state = dispatcher.messages[1]
    assert (state["amount"], state["due_date"]) == (money(first.amount, "nb"), day(first.due_date, "nb"))
    assert state["count"] == len(plan.installments)
    assert state["remaining"] == money(sum(Decimal(i.amount) for i in plan.installments), "nb")
    assert "innkrevingen er stanset" in texts(dispatcher)[2]
    # Paying: with collection stopped the case system gives no date to pay by, and that is said.
    paying = await answer("payment_info", "100003")
    assert responses(paying)[0] == "utter_pay_by_collection_stopped"


async def test_a_postponement_is_mentioned_with_the_balance(client: CaseSystemClient) -> None:
    await client.create_postponement("100001", "2026-12-05", caller=CALLER)
    dispatcher = await answer("balance")
    assert responses(dispatcher) == ["utter_balance", "utter_case_state_postponement"]
    assert dispatcher.messages[1]["deadline"] == day("2026-12-07", "nb")


async def test_english_figures_are_formatted_for_english_readers(client: CaseSystemClient) -> None:
    case = await client.get_case("100004", caller=CALLER)
    dispatcher = await answer("balance", "100004", "en")
    assert dispatcher.messages[0]["balance"] == money(case.balance, "en")
    assert dispatcher.messages[0]["balance"].startswith("NOK")


async def test_payments_are_listed(client: CaseSystemClient) -> None:
    dispatcher = await answer("payments", "100003")
    assert responses(dispatcher) == ["utter_payments_registered"]
    assert money("1000.00", "nb") in dispatcher.messages[0]["payments"]


async def test_no_payment_yet_explains_processing_time_and_offers_a_caseworker(client: CaseSystemClient) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"verified": True, "verified_case_number": "100001", "pending_topic": "payments"})
    events = await ActionAnswerTopic().run(dispatcher, tracker, _domain())
    assert responses(dispatcher) == ["utter_no_payments_registered"]
    # The offer is utter_offer_caseworker, whose yes and no the handoff rules know.
    assert events[-2:] == [SlotSet("handoff_reason", "payment_not_found"), FollowupAction("utter_offer_caseworker")]
    domain = Domain.load(str(REPO_ROOT / "domain")).as_dict()
    for variation in domain["responses"]["utter_no_payments_registered"]:
        assert "1 til 3 bankdager" in variation["text"] or "1 to 3 bank days" in variation["text"]


async def test_registered_payments_offer_no_caseworker(client: CaseSystemClient) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"verified": True, "verified_case_number": "100003", "pending_topic": "payments"})
    events = await ActionAnswerTopic().run(dispatcher, tracker, _domain())
    assert events == [SlotSet("pending_topic", None)]


async def test_payment_details_come_from_configuration_and_the_case(client: CaseSystemClient, settings) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("payment_info")
    message = dispatcher.messages[1]
    assert message["response"] == "utter_payment_info"
    assert message["kid"] == case.kid
    assert message["account_number"] == settings.agency_account_number
    assert message["iban"] == settings.agency_iban


# --- the date to pay by --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case_number, language, response, opening",
    [
        ("100002", "nb", "utter_pay_by_notice", "Betal 1 "),
        ("100004", "en", "utter_pay_by_notice", "Please pay NOK 3,"),
        (
            "100001",
            "nb",
            "utter_pay_by_notice_passed",
            "Fristen i brevet vårt var 21. oktober 2026, og den har gått ut.",
        ),
        (
            "100001",
            "en",
            "utter_pay_by_notice_passed",
            "The deadline in our letter was 21 October 2026, and it has passed.",
        ),
    ],
)
async def test_the_date_to_pay_by_is_the_case_systems(
    client: CaseSystemClient, case_number: str, language: str, response: str, opening: str
) -> None:
    pay_by = (await client.get_case(case_number, caller=CALLER)).pay_by
    dispatcher = await answer("payment_info", case_number, language)
    assert responses(dispatcher)[:2] == [response, "utter_payment_info"]
    said = dispatcher.messages[0]
    assert said["deadline"] == day(pay_by.date, language)
    assert said["amount"] == money(pay_by.amount, language)
    text = rendered(said, language)
    assert text.startswith(opening)
    assert said["deadline"].replace("\u00a0", " ") in text and said["amount"].replace("\u00a0", " ") in text


async def test_a_passed_deadline_is_said_plainly_with_the_ways_to_get_more_time(client: CaseSystemClient) -> None:
    nb = rendered((await answer("payment_info", "100001", "nb")).messages[0], "nb")
    en = rendered((await answer("payment_info", "100001", "en")).messages[0], "en")
    assert "så snart du kan" in nb and "nedbetalingsavtale" in nb and "utsettelse" in nb
    assert "as soon as you can" in en and "payment plan" in en and "postponement" in en


async def test_a_plan_says_the_next_installment(client: CaseSystemClient) -> None:
    plan = await client.create_payment_plan("100003", {"monthly_amount": "1000.00"}, caller=CALLER, language="nb")
    first = plan.installments[0]
    for language in ("nb", "en"):
        said = (await answer("payment_info", "100003", language)).messages[0]
        assert said["response"] == "utter_pay_by_payment_plan"
        assert (said["deadline"], said["amount"]) == (day(first.due_date, language), money(first.amount, language))
    assert rendered(said, "en").startswith("The next installment of your payment plan is NOK 1,000.00, due ")


async def test_a_postponement_says_its_new_date_and_the_balance(client: CaseSystemClient) -> None:
    await client.create_postponement("100001", "2026-12-05", caller=CALLER)  # a Saturday: Monday 7 December
    case = await client.get_case("100001", caller=CALLER)
    said = (await answer("payment_info", "100001", "nb")).messages[0]
    assert said["response"] == "utter_pay_by_postponement"
    assert said["deadline"] == day("2026-12-07", "nb") == day(case.pay_by.date, "nb")
    assert said["amount"] == money(case.pay_by.amount, "nb")  # the balance on 7 December
    assert said["balance"] == money(case.balance, "nb")  # and today
    assert Decimal(case.pay_by.amount) > Decimal(case.balance)


async def test_legal_collection_gives_no_date_and_todays_amount_as_todays(client: CaseSystemClient) -> None:
    # Issue 20: {amount} is today's balance; paid later it does not settle the claim.
    case = await client.get_case("100005", caller=CALLER)
    for language, words in (("nb", "Betaler du i dag, er beløpet"), ("en", "If you pay today, the amount is")):
        said = (await answer("payment_info", "100005", language)).messages[0]
        assert said["response"] == "utter_pay_by_legal_collection" and "deadline" not in said
        assert said["amount"] == money(case.balance, language)
        text = rendered(said, language)
        assert words in text and "stopper videre renter" not in text and "stops further interest" not in text


async def test_a_disputed_case_is_given_no_date_to_pay_by(client: CaseSystemClient) -> None:
    await client.create_dispute("100002", "Jeg har aldri vært medlem.", caller=CALLER)
    said = (await answer("payment_info", "100002", "nb")).messages[0]
    assert said["response"] == "utter_pay_by_collection_stopped" and "deadline" not in said


async def test_a_closed_case_is_said_to_be_closed(client: CaseSystemClient) -> None:
    dispatcher = await answer("balance", "100006")
    assert responses(dispatcher) == ["utter_case_closed"]


async def test_legal_collection_stage_is_explained(client: CaseSystemClient) -> None:
    dispatcher = await answer("explain", "100005")
    assert "utter_stage_legal_collection" in responses(dispatcher)
    assert responses(dispatcher).count("utter_claim_breakdown") == 1


async def test_without_a_topic_the_debtor_is_asked_what_they_want(client: CaseSystemClient) -> None:
    dispatcher = await answer(None)
    assert responses(dispatcher) == ["utter_verified_what_next"]
