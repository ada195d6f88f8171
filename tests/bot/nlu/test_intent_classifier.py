"""The intent classifier is Rasa's logistic regression with a faster input row: same answers."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.intent_classifier import LinearIntentClassifier

EXAMPLES = {
    "greet": ["hei", "hallo", "god morgen", "hello there"],
    "ask_balance": ["hvor mye skylder jeg", "kor mykje skuldar eg", "what do I owe", "hva er saldoen"],
    "request_human": ["kan jeg snakke med et menneske", "saksbehandler takk", "I want a person", "ring meg"],
}
QUESTIONS = ["heisann", "hvor mye er det jeg skylder dere", "can I talk to a human", "what is my balance", "😀"]


@pytest.fixture(scope="module")
def components(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    words = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("w"), context)
    chars = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        storage, Resource("c"), context,
    )
    e5 = E5SentenceFeaturizer({**E5SentenceFeaturizer.get_default_config(), "scale": 30.0}, "e5")
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])
    tokenizer.process_training_data(data)
    for featurizer in (words, chars):
        featurizer.train(data)
        featurizer.process_training_data(data)
    e5.process_training_data(data)
    ours = LinearIntentClassifier.create({"random_state": 7}, storage, Resource("ours"), context)
    rasas = LogisticRegressionClassifier.create({"random_state": 7}, storage, Resource("rasa"), context)
    ours.train(data)
    rasas.train(data)

    def featurized(text: str) -> Message:
        message = Message(data={"text": text})
        for component in (tokenizer, words, chars, e5):
            component.process([message])
        return message

    return ours, rasas, featurized


def test_the_same_intents_and_confidences_as_rasas_classifier(components) -> None:
    ours, rasas, featurized = components
    mine = ours.process([featurized(text) for text in QUESTIONS])
    theirs = rasas.process([featurized(text) for text in QUESTIONS])
    for a, b in zip(mine, theirs):
        assert a.get("intent")["name"] == b.get("intent")["name"]
        assert a.get("intent")["confidence"] == pytest.approx(b.get("intent")["confidence"])
    assert [m.get("intent")["name"] for m in mine[:4]] == ["greet", "ask_balance", "request_human", "ask_balance"]


def test_an_empty_message_gets_no_intent_instead_of_an_error(components) -> None:
    ours, _, featurized = components
    empty, greeting = ours.process([featurized(""), featurized("hei")])
    assert empty.get("intent") == {"name": None, "confidence": 0.0} and empty.get("intent_ranking") == []
    assert greeting.get("intent")["name"] == "greet"
