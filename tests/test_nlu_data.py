"""The NLU training data covers the intent catalogue, and the held-out file stays held out."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.config import REPO_ROOT

CATALOGUE = (
    "greet goodbye thank affirm deny bot_challenge request_human inform switch_language out_of_scope "
    "ask_contact ask_why_contacted ask_balance explain_claim ask_creditor ask_fees ask_interest "
    "ask_payment_info request_payment_plan request_postponement report_payment_made dispute_claim "
    "report_hardship rights_access rights_rectification rights_erasure rights_restriction "
    "rights_objection rights_portability rights_human_review privacy ask_capabilities no_case_number wrong_person "
    "ask_stage ask_invoice"
).split()
PRIVACY_TOPICS = (
    "purpose legal_basis data_categories data_sources sharing retention automated_decisions "
    "sensitive_data security dpo_contact email_safety abroad"
).split()


def sentences(*paths: str) -> list[tuple[str, str, str]]:
    """(text, intent, intent_response_key) of every example in the files."""
    examples = []
    for path in paths:
        data = load_data(str(REPO_ROOT / path))
        examples += [(e.get("text"), e.get("intent"), e.get("intent_response_key")) for e in data.intent_examples]
    return examples


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip(" ?!.")


@pytest.fixture(scope="module")
def training() -> list[tuple[str, str, str]]:
    return sentences("data/nlu")


@pytest.fixture(scope="module")
def english() -> Counter:
    return Counter(
        intent for _, intent, _ in sentences("data/nlu/en.yml", "data/nlu/rights_en.yml", "data/nlu/privacy_en.yml")
    )


def test_every_intent_of_the_catalogue_has_enough_examples_in_both_languages(training, english) -> None:
    counts = Counter(intent for _, intent, _ in training)
    assert set(counts) == set(CATALOGUE)
    assert {intent: n for intent, n in counts.items() if n < 25} == {}
    assert {intent: english[intent] for intent in CATALOGUE if english[intent] < 8} == {}


def test_every_privacy_topic_is_trained(training) -> None:
    topics = Counter(key.split("/")[1] for _, intent, key in training if intent == "privacy")
    assert set(topics) == set(PRIVACY_TOPICS)
    assert min(topics.values()) >= 8


def test_no_sentence_is_trained_under_two_intents(training) -> None:
    labels: dict[str, set[str]] = {}
    for text, intent, key in training:
        labels.setdefault(normalised(text), set()).add(key or intent)
    assert {text: names for text, names in labels.items() if len(names) > 1} == {}


def test_held_out_sentences_are_not_in_the_training_data(training) -> None:
    held_out = sentences("tests/nlu/holdout.yml")
    assert len(held_out) >= 150
    trained = {normalised(text) for text, _, _ in training}
    assert [text for text, _, _ in held_out if normalised(text) in trained] == []
    assert {intent for _, intent, _ in held_out} == set(CATALOGUE)


def test_messy_messages_are_not_in_the_training_data(training) -> None:
    messy = sentences("tests/nlu/messy.yml")
    assert len(messy) >= 60
    trained = {normalised(text) for text, _, _ in training}
    assert [text for text, _, _ in messy if normalised(text) in trained] == []
    assert {intent for _, intent, _ in messy} <= set(CATALOGUE)
