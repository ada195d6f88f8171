"""Fallback, language and the per-turn bookkeeping, with the real domain."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionAskRephrase, response_text
from actions.session import ActionSwitchLanguage
from actions.turn import ValidateSlotMappings
from bot.config import REPO_ROOT
from tests.actions.conftest import make_tracker, responses, slot_events


@pytest.fixture(scope="module")
def domain() -> dict:
    return Domain.load(str(Path(REPO_ROOT) / "domain")).as_dict()


def fallback_tracker(misunderstood=None, language="nb"):
    tracker = make_tracker({"misunderstood": misunderstood, "language": language}, text="flurp")
    tracker.latest_message["intent"] = {"name": "nlu_fallback"}
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "ask_balance", "confidence": 0.2},
        {"name": "affirm", "confidence": 0.15},  # not a topic: never offered as a button
        {"name": "request_payment_plan", "confidence": 0.1},
        {"name": "ask_fees", "confidence": 0.05},
    ]
    return tracker


async def test_first_misunderstanding_offers_the_two_likeliest_topics(domain) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAskRephrase().run(dispatcher, fallback_tracker(), domain)
    assert responses(dispatcher) == ["utter_ask_rephrase"]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Hva skylder jeg?", "payload": "/ask_balance"},
        {"title": "Nedbetalingsavtale", "payload": "/request_payment_plan"},
    ]
    assert slot_events(events) == {"misunderstood": "once", "handoff_reason": "not_understood"}


async def test_button_labels_follow_the_conversation_language(domain) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskRephrase().run(dispatcher, fallback_tracker(language="en"), domain)
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["What do I owe?", "Payment plan"]


async def test_second_misunderstanding_in_a_row_leads_to_the_caseworker_offer(domain) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAskRephrase().run(dispatcher, fallback_tracker(misunderstood="once"), domain)
    assert responses(dispatcher) == ["utter_still_not_understood"]
    assert slot_events(events) == {"misunderstood": "twice", "handoff_reason": "not_understood"}


def test_every_offered_label_exists_in_both_languages(domain) -> None:
    labels = [name for name in domain["responses"] if name.startswith("utter_topic_label_")]
    assert len(labels) >= 10
    for name in labels:
        assert response_text(domain, name, "nb") and response_text(domain, name, "en")
        assert response_text(domain, name, "nb") != response_text(domain, name, "en")
        assert name.removeprefix("utter_topic_label_") in domain["intents"] or any(
            name.removeprefix("utter_topic_label_") in intent
            for intent in domain["intents"]
            if isinstance(intent, dict)
        )


async def test_language_follows_the_debtor_until_they_choose_one() -> None:
    turn = ValidateSlotMappings()
    english = make_tracker({"language": "nb"}, text="how much do I owe")
    assert await turn.extract_language(CollectingDispatcher(), english, {}) == {"language": "en"}
    chosen = make_tracker({"language": "nb", "language_chosen": True}, text="how much do I owe")
    assert await turn.extract_language(CollectingDispatcher(), chosen, {}) == {}
    neutral = make_tracker({"language": "en"}, text="100001")
    assert await turn.extract_language(CollectingDispatcher(), neutral, {}) == {}


async def test_an_understood_message_resets_the_misunderstanding_count() -> None:
    turn = ValidateSlotMappings()
    understood = make_tracker({"misunderstood": "once"}, text="hva skylder jeg")
    understood.latest_message["intent"] = {"name": "ask_balance"}
    assert await turn.extract_misunderstood(CollectingDispatcher(), understood, {}) == {"misunderstood": None}
    again = fallback_tracker(misunderstood="once")
    assert await turn.extract_misunderstood(CollectingDispatcher(), again, {}) == {}


async def test_switching_language_names_the_language_or_toggles() -> None:
    named = make_tracker({"language": "nb"}, entities=[{"entity": "language", "value": "en"}])
    toggled = make_tracker({"language": "en"})
    assert slot_events(await ActionSwitchLanguage().run(CollectingDispatcher(), named, {})) == {
        "language": "en",
        "language_chosen": True,
    }
    assert slot_events(await ActionSwitchLanguage().run(CollectingDispatcher(), toggled, {}))["language"] == "nb"
