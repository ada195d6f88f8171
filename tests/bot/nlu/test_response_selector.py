"""The linear response selector picks a privacy topic and answers in the shape Rasa Core reads."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.e5_featurizer import E5SentenceFeaturizer
from bot.nlu.response_selector import LinearResponseSelector

EXAMPLES = {
    "privacy/retention": ["hvor lenge lagrer dere opplysningene", "how long do you keep my data", "lagringstid"],
    "privacy/dpo_contact": [
        "hvem er personvernombudet",
        "who is your data protection officer",
        "kontakt personvernombud",
    ],
    "privacy/abroad": ["sender dere data til utlandet", "is my data sent abroad", "overføring utenfor EØS"],
}
RESPONSES = {f"utter_{key}": [{"text": f"answer about {key.split('/')[1]}"}] for key in EXAMPLES}


class Pipeline:
    """The featurizers of config.yml, trained on the examples, in front of the selector."""

    def __init__(self, storage: LocalModelStorage) -> None:
        context = ExecutionContext(GraphSchema({}), "test")
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.words = CountVectorsFeaturizer.create(
            CountVectorsFeaturizer.get_default_config(), storage, Resource("words"), context
        )
        self.e5 = E5SentenceFeaturizer({**E5SentenceFeaturizer.get_default_config(), "scale": 30.0}, "e5")

    def train(self, data: TrainingData) -> None:
        self.tokenizer.process_training_data(data)
        self.words.train(data)
        self.words.process_training_data(data)
        self.e5.process_training_data(data)

    def featurize(self, text: str, intent: str = "privacy") -> Message:
        """The message as the selector sees it: featurized and classified as `intent`."""
        message = Message(data={"text": text})
        for component in (self.tokenizer, self.words, self.e5):
            component.process([message])
        message.set("intent", {"name": intent, "confidence": 0.9})
        return message


def training_data() -> TrainingData:
    examples = [
        Message(data={"text": text, "intent": "privacy", "intent_response_key": key})
        for key, texts in EXAMPLES.items()
        for text in texts
    ]
    examples.append(Message(data={"text": "hvor mye skylder jeg", "intent": "ask_balance"}))
    return TrainingData(examples, responses=RESPONSES)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    pipeline = Pipeline(storage)
    data = training_data()
    pipeline.train(data)
    context = ExecutionContext(GraphSchema({}), "test")
    selector = LinearResponseSelector.create({"retrieval_intent": "privacy"}, storage, Resource("selector"), context)
    selector.train(data)
    return pipeline, storage, context


def selected(message: Message) -> dict:
    return message.get("response_selector")["privacy"]


def test_picks_the_topic_and_names_the_utter_action_rasa_core_runs(trained) -> None:
    pipeline, storage, context = trained
    selector = LinearResponseSelector.load({"retrieval_intent": "privacy"}, storage, Resource("selector"), context)
    message = pipeline.featurize("hvor lenge blir opplysningene mine lagret")
    selector.process([message])
    response = selected(message)["response"]
    assert response["intent_response_key"] == "privacy/retention"
    assert response["utter_action"] == "utter_privacy/retention"
    assert response["responses"] == RESPONSES["utter_privacy/retention"]
    assert message.get("response_selector")["all_retrieval_intents"] == ["privacy"]
    ranking = selected(message)["ranking"]
    assert [entry["intent_response_key"] for entry in ranking][0] == "privacy/retention"
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)


def test_english_question_finds_the_same_topic(trained) -> None:
    pipeline, storage, context = trained
    selector = LinearResponseSelector.load({"retrieval_intent": "privacy"}, storage, Resource("selector"), context)
    message = pipeline.featurize("who is the data protection officer at your company")
    selector.process([message])
    assert selected(message)["response"]["utter_action"] == "utter_privacy/dpo_contact"


def test_messages_of_other_intents_get_no_topic(trained) -> None:
    pipeline, storage, context = trained
    selector = LinearResponseSelector.load({"retrieval_intent": "privacy"}, storage, Resource("selector"), context)
    message = pipeline.featurize("hvor mye skylder jeg", intent="ask_balance")
    selector.process([message])
    assert message.get("response_selector") is None


def test_without_a_trained_model_messages_pass_through(tmp_path) -> None:
    context = ExecutionContext(GraphSchema({}), "test")
    selector = LinearResponseSelector.load(
        {"retrieval_intent": "privacy"}, LocalModelStorage(tmp_path), Resource("none"), context
    )
    message = Message(data={"text": "hei"})
    selector.process([message])
    assert message.get("response_selector") is None


def test_retrieval_intent_is_required(tmp_path) -> None:
    with pytest.raises(ValueError, match="retrieval_intent"):
        LinearResponseSelector.create(
            {}, LocalModelStorage(tmp_path), Resource("x"), ExecutionContext(GraphSchema({}), "t")
        )
