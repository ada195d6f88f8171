"""Fallback, language and the per-turn bookkeeping, with the real domain."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.empathy import ActionAcknowledgeDispute, is_angry
from actions.fallback import ActionAskRephrase, response_text
from actions.session import ActionSessionStart, ActionSwitchLanguage
from actions.turn import ActionDetectLanguage, ValidateSlotMappings
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


async def test_misunderstandings_in_a_row_never_get_the_same_answer_twice(domain) -> None:
    said, count = [], None
    for _ in range(5):
        dispatcher = CollectingDispatcher()
        events = await ActionAskRephrase().run(dispatcher, fallback_tracker(misunderstood=count), domain)
        said.append(responses(dispatcher)[0])
        count = slot_events(events)["misunderstood"]
    assert said == [
        "utter_ask_rephrase",
        "utter_still_not_understood",
        "utter_not_understood_call",
        "utter_ask_rephrase",
        "utter_still_not_understood",
    ]
    assert all(first != second for first, second in zip(said, said[1:]))


async def test_the_third_time_gives_the_agency_phone(domain, settings) -> None:
    from actions import services

    services.use(settings=settings)
    try:
        dispatcher = CollectingDispatcher()
        await ActionAskRephrase().run(dispatcher, fallback_tracker(misunderstood="twice"), domain)
    finally:
        services.use()
    assert dispatcher.messages[0]["agency_phone"] == settings.agency_phone


async def test_out_of_scope_requests_count_towards_the_offer_of_a_person(domain) -> None:
    first, second = CollectingDispatcher(), CollectingDispatcher()
    weather = fallback_tracker()
    weather.latest_message["intent"] = {"name": "out_of_scope"}
    events = await ActionAskRephrase().run(first, weather, domain)
    again = fallback_tracker(misunderstood=slot_events(events)["misunderstood"])
    again.latest_message["intent"] = {"name": "out_of_scope"}
    events = await ActionAskRephrase().run(second, again, domain)
    assert responses(first) == ["utter_out_of_scope"]
    assert responses(second) == ["utter_still_cannot_help"]
    assert slot_events(events)["misunderstood"] == "twice"


async def test_a_ranking_without_topics_still_offers_two_buttons(domain) -> None:
    tracker = fallback_tracker()
    tracker.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "greet"}]
    dispatcher = CollectingDispatcher()
    await ActionAskRephrase().run(dispatcher, tracker, domain)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/ask_balance", "/ask_payment_info"]


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
    detect = ActionDetectLanguage()
    english = make_tracker({"language": "nb"}, text="how much do I owe")
    assert slot_events(await detect.run(CollectingDispatcher(), english, {})) == {"language": "en"}
    chosen = make_tracker({"language": "nb", "language_chosen": True}, text="how much do I owe")
    assert await detect.run(CollectingDispatcher(), chosen, {}) == []
    neutral = make_tracker({"language": "en"}, text="100001")
    assert await detect.run(CollectingDispatcher(), neutral, {}) == []


async def test_an_understood_message_resets_the_misunderstanding_count() -> None:
    turn = ValidateSlotMappings()
    understood = make_tracker({"misunderstood": "once"}, text="hva skylder jeg")
    understood.latest_message["intent"] = {"name": "ask_balance"}
    assert await turn.extract_misunderstood(CollectingDispatcher(), understood, {}) == {"misunderstood": None}
    again = fallback_tracker(misunderstood="once")
    assert await turn.extract_misunderstood(CollectingDispatcher(), again, {}) == {}
    out_of_scope = make_tracker({"misunderstood": "once"}, text="bestill pizza")
    out_of_scope.latest_message["intent"] = {"name": "out_of_scope"}
    assert await turn.extract_misunderstood(CollectingDispatcher(), out_of_scope, {}) == {}


# --- the first words: the notice in the language of the first message --------------------------


async def test_a_session_with_the_page_language_says_the_notice_at_once(settings) -> None:
    from actions import services

    services.use(settings=settings)
    try:
        dispatcher = CollectingDispatcher()
        page = make_tracker({"session_started_metadata": {"language": "en"}})
        events = await ActionSessionStart().run(dispatcher, page, {})
    finally:
        services.use()
    assert responses(dispatcher) == ["utter_digital_assistant_notice"]
    assert slot_events(events) == {"language": "en", "assistant_introduced": True}


async def test_a_session_without_a_hint_waits_for_the_first_message() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, make_tracker({"session_started_metadata": None}), {})
    assert dispatcher.messages == []
    assert slot_events(events) == {"assistant_introduced": False}


async def test_the_first_message_gets_the_notice_once(domain, settings) -> None:
    from actions import services

    services.use(settings=settings)
    try:
        first, second = CollectingDispatcher(), CollectingDispatcher()
        waiting = make_tracker({"assistant_introduced": False, "language": "en"}, text="Hi, how much do I owe?")
        events = await ValidateSlotMappings().run(first, waiting, domain)
        introduced = make_tracker({"assistant_introduced": True, "language": "en"}, text="and the fees?")
        await ValidateSlotMappings().run(second, introduced, domain)
    finally:
        services.use()
    assert responses(first) == ["utter_digital_assistant_notice"]
    assert first.messages[0]["agency_name"] == settings.agency_name
    assert slot_events(events)["assistant_introduced"] is True
    assert second.messages == []


# --- empathy first ------------------------------------------------------------------------------

ANGRY_DISPUTE = (
    "Jeg har ALDRI fått noen faktura fra dette firmaet, og nå truer dere med inkasso. "
    "Svar meg ordentlig og ikke med noe robotsvar!"
)


@pytest.mark.parametrize(
    "text",
    [
        ANGRY_DISPUTE,
        "Dette er helt latterlig",
        "jeg er så forbanna på dere",
        "HVORFOR svarer dere ikke!",
        "This is ridiculous, I never got a bill",
        "answer me!!!",
    ],
)
def test_anger_is_recognised(text) -> None:
    assert is_angry(text)


@pytest.mark.parametrize(
    "text",
    [
        "hva skylder jeg?",
        "Hei!",
        "HVA SKYLDER JEG",  # caps lock alone is not anger
        "Hvor finner jeg KID-nummeret?",
        "Takk for hjelpen!",
        "I would like a payment plan, please",
    ],
)
def test_calm_messages_are_not_taken_for_anger(text) -> None:
    assert not is_angry(text)


async def test_anger_is_acknowledged_once_before_the_answer(domain) -> None:
    angry = make_tracker({"assistant_introduced": True}, text="Dette er latterlig, hva skylder jeg?")
    angry.latest_message["intent"] = {"name": "ask_balance"}
    dispatcher = CollectingDispatcher()
    await ValidateSlotMappings().run(dispatcher, angry, domain)
    assert responses(dispatcher) == ["utter_acknowledge_frustration"]

    already = make_tracker(
        {"assistant_introduced": True},
        text="fortsatt latterlig",
        events=[{"event": "bot", "text": "...", "metadata": {"utter_action": "utter_acknowledge_frustration"}}],
    )
    dispatcher = CollectingDispatcher()
    await ValidateSlotMappings().run(dispatcher, already, domain)
    assert dispatcher.messages == []


async def test_an_angry_dispute_is_acknowledged_as_a_dispute_not_twice(domain) -> None:
    dispute = make_tracker({"assistant_introduced": True}, text=ANGRY_DISPUTE)
    dispute.latest_message["intent"] = {"name": "dispute_claim"}
    turn, acknowledgement = CollectingDispatcher(), CollectingDispatcher()
    await ValidateSlotMappings().run(turn, dispute, domain)
    await ActionAcknowledgeDispute().run(acknowledgement, dispute, domain)
    assert turn.messages == []
    assert responses(acknowledgement) == ["utter_acknowledge_angry_dispute"]

    calm = make_tracker(text="Jeg er uenig i kravet, jeg har betalt fakturaen")
    acknowledgement = CollectingDispatcher()
    await ActionAcknowledgeDispute().run(acknowledgement, calm, domain)
    assert responses(acknowledgement) == ["utter_acknowledge_dispute"]


def test_acknowledgements_are_one_sentence_in_both_languages(domain) -> None:
    for name in ("utter_acknowledge_frustration", "utter_acknowledge_dispute", "utter_acknowledge_angry_dispute"):
        for language in ("nb", "en"):
            text = response_text(domain, name, language)
            assert text and text.count(".") == 1 and text.endswith(".") and "?" not in text


async def test_switching_language_names_the_language_or_toggles() -> None:
    named = make_tracker({"language": "nb"}, entities=[{"entity": "language", "value": "en"}])
    toggled = make_tracker({"language": "en"})
    assert slot_events(await ActionSwitchLanguage().run(CollectingDispatcher(), named, {})) == {
        "language": "en",
        "language_chosen": True,
    }
    assert slot_events(await ActionSwitchLanguage().run(CollectingDispatcher(), toggled, {}))["language"] == "nb"
