"""What a verified debtor is told about a claim equals what the case system holds."""

from __future__ import annotations

from decimal import Decimal

from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import Caller, CaseSystemClient
from actions.claims import ActionAnswerTopic
from actions.formatting import money
from bot.config import REPO_ROOT
from tests.actions.conftest import make_tracker, responses

CALLER = Caller(conversation_id="test", channel="rest", purpose="test")


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
    assert said["utter_balance"]["balance"] == money(case["balance"], "nb")
    assert said["utter_claim_line_balance"]["amount"] == money(case["balance"], "nb")
    line_responses = [r for r in responses(dispatcher) if r.startswith("utter_claim_line_") and r != "utter_claim_line_balance"]
    assert line_responses == [f"utter_claim_line_{line['type']}" for line in case["lines"]]
    total = sum(Decimal(line["amount"]) for line in case["lines"]) - Decimal(case["total_paid"])
    assert total == Decimal(case["balance"])


async def test_english_figures_are_formatted_for_english_readers(client: CaseSystemClient) -> None:
    case = await client.get_case("100004", caller=CALLER)
    dispatcher = await answer("balance", "100004", "en")
    assert dispatcher.messages[0]["balance"] == money(case["balance"], "en")
    assert dispatcher.messages[0]["balance"].startswith("NOK")


async def test_payments_are_listed(client: CaseSystemClient) -> None:
    dispatcher = await answer("payments", "100003")
    assert responses(dispatcher) == ["utter_payments_registered"]
    assert money("1000.00", "nb") in dispatcher.messages[0]["payments"]


async def test_no_payment_yet_explains_processing_time_and_offers_a_caseworker(client: CaseSystemClient) -> None:
    dispatcher = await answer("payments", "100001")
    assert responses(dispatcher) == ["utter_no_payments_registered"]
    domain = Domain.load(str(REPO_ROOT / "domain")).as_dict()
    for variation in domain["responses"]["utter_no_payments_registered"]:
        assert "1 til 3 bankdager" in variation["text"] or "1 to 3 bank days" in variation["text"]
        assert [button["payload"] for button in variation["buttons"]] == ["/request_human", "/deny"]


async def test_payment_details_come_from_configuration_and_the_case(client: CaseSystemClient, settings) -> None:
    case = await client.get_case("100001", caller=CALLER)
    dispatcher = await answer("payment_info")
    message = dispatcher.messages[0]
    assert message["kid"] == case["kid"]
    assert message["account_number"] == settings.agency_account_number
    assert message["iban"] == settings.agency_iban


async def test_a_closed_case_is_said_to_be_closed(client: CaseSystemClient) -> None:
    dispatcher = await answer("balance", "100006")
    assert responses(dispatcher) == ["utter_case_closed"]


async def test_legal_collection_stage_is_explained(client: CaseSystemClient) -> None:
    dispatcher = await answer("explain", "100005")
    assert "utter_stage_legal_collection" in responses(dispatcher)


async def test_without_a_topic_the_debtor_is_asked_what_they_want(client: CaseSystemClient) -> None:
    dispatcher = await answer(None)
    assert responses(dispatcher) == ["utter_verified_what_next"]
