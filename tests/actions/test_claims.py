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
from actions.formatting import day, money
from bot.config import REPO_ROOT
from tests.actions.conftest import make_tracker, responses

CALLER = Caller(conversation_id="test", channel="rest", purpose="test")
# The demo data's world: Emma's and Ola's letters' deadlines are ahead, Kari's has passed.
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def case_system_clock():
    return lambda: NOW


@lru_cache(maxsize=1)
def _responses() -> dict:
    return Domain.load(str(REPO_ROOT / "domain")).as_dict()["responses"]


def rendered(message: dict, language: str) -> str:
    """The text the debtor sees for `message`, from the domain's nb or en variation."""
    for variation in _responses()[message["response"]]:
        if ("condition" in variation) == (language == "en"):
            return interpolate_text(variation["text"], message).replace("\u00a0", " ")
    raise AssertionError(f"no {language} variation of {message['response']}")


async def answer(topic: str, case_number: str = "100001", language: str = "nb") -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"verified": True, "verified_case_number": case_number, "pending_topic": topic, "language": language}
    )
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    return dispatcher


async def test_balance_and_breakdown_reconcile_with_the_case_system(client: CaseSystemClient) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("balance")
    said = {message["response"]: message for message in dispatcher.messages}
    assert said["utter_balance"]["balance"] == money(case.balance, "nb")
    assert said["utter_claim_line_balance"]["amount"] == money(case.balance, "nb")
    line_responses = [
        r for r in responses(dispatcher) if r.startswith("utter_claim_line_") and r != "utter_claim_line_balance"
    ]
    assert line_responses == [f"utter_claim_line_{line.type.value}" for line in case.lines]
    total = sum(Decimal(line.amount) for line in case.lines) - Decimal(case.total_paid)
    assert total == Decimal(case.balance)


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
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_no_payments_registered"]
    # The offer is utter_offer_caseworker, whose yes and no the handoff rules know.
    assert events[-2:] == [SlotSet("handoff_reason", "payment_not_found"), FollowupAction("utter_offer_caseworker")]
    domain = Domain.load(str(REPO_ROOT / "domain")).as_dict()
    for variation in domain["responses"]["utter_no_payments_registered"]:
        assert "1 til 3 bankdager" in variation["text"] or "1 to 3 bank days" in variation["text"]


async def test_registered_payments_offer_no_caseworker(client: CaseSystemClient) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"verified": True, "verified_case_number": "100003", "pending_topic": "payments"})
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
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


async def test_legal_collection_gives_no_date_but_how_to_stop_further_costs(client: CaseSystemClient) -> None:
    case = await client.get_case("100005", caller=CALLER)
    for language, words in (("nb", "stopper videre renter og kostnader"), ("en", "stops further interest and costs")):
        said = (await answer("payment_info", "100005", language)).messages[0]
        assert said["response"] == "utter_pay_by_legal_collection" and "deadline" not in said
        assert said["amount"] == money(case.balance, language)
        assert words in rendered(said, language)


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


async def test_without_a_topic_the_debtor_is_asked_what_they_want(client: CaseSystemClient) -> None:
    dispatcher = await answer(None)
    assert responses(dispatcher) == ["utter_verified_what_next"]
