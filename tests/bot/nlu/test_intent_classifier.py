"""The intent classifier: right intents, privacy topics summed into `privacy`, a model that reloads."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.intent_classifier import EnsembleIntentClassifier

EXAMPLES = {
    "greet": ["hei", "hallo", "god morgen", "hello there", "heisann", "good evening"],
    "ask_balance": [
        "hvor mye skylder jeg",
        "kor mykje skuldar eg",
        "what do I owe",
        "hva er saldoen",
        "how much is left to pay",
        "hvor mye er igjen",
    ],
    "request_human": [
        "kan jeg snakke med et menneske",
        "saksbehandler takk",
        "I want a person",
        "ring meg",
        "put me through to an agent",
        "eg vil snakke med ein person",
    ],
    "privacy/retention": [
        "hvor lenge lagrer dere opplysningene",
        "how long do you keep my data",
        "kor lenge blir data lagra",
        "when do you delete my information",
        "lagringstid for personopplysninger",
        "how long is my data stored",
    ],
    "privacy/sharing": [
        "hvem deler dere opplysningene med",
        "who do you share my data with",
        "får kreditor se dataene mine",
        "do you give my data to others",
        "kven får opplysningane mine",
        "is my data passed on to anyone",
    ],
}
QUESTIONS = [
    "heisann hei",
    "hvor mye er det jeg skylder dere",
    "can I talk to a human",
    "how long will you store my data",
]
EXPECTED = ["greet", "ask_balance", "request_human", "privacy"]


def training_message(label: str, text: str) -> Message:
    intent = label.split("/")[0]
    data = {"text": text, "intent": intent}
    if "/" in label:
        data["intent_response_key"] = label
    return Message(data=data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    words = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("w"), context)
    chars = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        storage,
        Resource("c"),
        context,
    )
    e5 = E5SentenceFeaturizer({**E5SentenceFeaturizer.get_default_config(), "scale": 30.0}, "e5")
    data = TrainingData([training_message(label, t) for label, texts in EXAMPLES.items() for t in texts])
    tokenizer.process_training_data(data)
    for featurizer in (words, chars):
        featurizer.train(data)
        featurizer.process_training_data(data)
    e5.process_training_data(data)
    resource = Resource("intents")
    classifier = EnsembleIntentClassifier.create({"random_state": 7}, storage, resource, context)
    classifier.train(data)

    def featurized(text: str) -> Message:
        message = Message(data={"text": text})
        for component in (tokenizer, words, chars, e5):
            component.process([message])
        return message

    def reloaded() -> EnsembleIntentClassifier:
        return EnsembleIntentClassifier.load({"random_state": 7}, storage, resource, context)

    return classifier, featurized, reloaded


def test_each_question_gets_its_intent_and_privacy_topics_count_as_privacy(trained) -> None:
    classifier, featurized, _ = trained
    messages = classifier.process([featurized(text) for text in QUESTIONS])
    assert [m.get("intent")["name"] for m in messages] == EXPECTED
    assert classifier.intents == ["ask_balance", "greet", "privacy", "request_human"]
    for message in messages:
        ranking = message.get("intent_ranking")
        assert ranking[0] == message.get("intent")
        assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)
        assert [entry["confidence"] for entry in ranking] == sorted((e["confidence"] for e in ranking), reverse=True)


def test_a_reloaded_model_gives_the_same_answers(trained) -> None:
    classifier, featurized, reloaded = trained
    again = reloaded()
    for text in QUESTIONS:
        first, second = classifier.process([featurized(text)])[0], again.process([featurized(text)])[0]
        assert second.get("intent")["name"] == first.get("intent")["name"]
        assert second.get("intent")["confidence"] == pytest.approx(first.get("intent")["confidence"])


def test_an_empty_message_gets_no_intent_instead_of_an_error(trained) -> None:
    classifier, featurized, _ = trained
    empty, greeting = classifier.process([featurized(""), featurized("hei")])
    assert empty.get("intent") == {"name": None, "confidence": 0.0} and empty.get("intent_ranking") == []
    assert greeting.get("intent")["name"] == "greet"


def test_an_untrained_classifier_answers_no_intent(tmp_path) -> None:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    untrained = EnsembleIntentClassifier.load({}, storage, Resource("missing"), context)
    (message,) = untrained.process([Message(data={"text": "hei"})])
    assert message.get("intent") == {"name": None, "confidence": 0.0}


def test_the_fast_linear_scores_equal_scikit_learns(trained) -> None:
    """Scoring a message from its few counts gives what predict_proba gives on the full tf-idf row,
    also for a text with words the model never saw."""
    classifier, featurized, _ = trained
    messages = [featurized(text) for text in [*QUESTIONS, "zzqx blørp", "?"]]
    embeddings = classifier._embeddings(messages)
    expected = classifier._models["linear"].predict_proba(classifier._linear_rows(messages, embeddings))
    assert classifier._weights is not None  # the fast path is the one taken
    np.testing.assert_allclose(classifier._linear_probabilities(messages, embeddings), expected, rtol=1e-9, atol=1e-12)
