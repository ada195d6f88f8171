"""Picks the answer to a retrieval intent (`privacy/<topic>`) with a logistic regression.

Rasa's own ResponseSelector is a TensorFlow model: about 7 ms per message on this machine, the
second largest cost of a parse after the e5 embedding. The topics of the privacy notice are few
and their examples short, so a linear model on the same sentence features (word and character
counts, e5 embedding) chooses as well in well under a millisecond. The output has the shape of
Rasa's ResponseSelector output, so `utter_privacy` and the rest of Rasa Core work unchanged.

Pipeline place: after the intent classifier (`- name: bot.nlu.response_selector.
LinearResponseSelector` with `retrieval_intent: privacy`); it picks a topic only for messages
classified as that intent.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data import util
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from bot.nlu.features import sentence_features
from bot.nlu.model_files import UntrustedModelFile, dump_model, load_model

logger = logging.getLogger(__name__)

MODEL_FILE = "classifier.skops"
RESPONSES_FILE = "responses.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(GraphComponent):
    """Chooses `<retrieval_intent>/<topic>` for every message, as Rasa's ResponseSelector does."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"retrieval_intent": None, "C": 1.0, "max_iter": 500, "random_state": 7, "ranking_length": 5}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Optional[LogisticRegression] = None,
        responses: Optional[Dict[Text, List[Dict[Text, Any]]]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        if not self._config["retrieval_intent"]:
            raise ValueError("LinearResponseSelector needs `retrieval_intent` in config.yml")
        self._retrieval_intent: str = self._config["retrieval_intent"]
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = classifier
        self._responses = responses or {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearResponseSelector":
        return cls(config, model_storage, resource)

    def _examples(self, training_data: TrainingData) -> List[Message]:
        return [
            example
            for example in training_data.intent_examples
            if example.get(INTENT) == self._retrieval_intent and example.get(INTENT_RESPONSE_KEY) and example.get(TEXT)
        ]

    def train(self, training_data: TrainingData) -> Resource:
        examples = self._examples(training_data)
        if not examples:
            logger.debug("No examples of retrieval intent '%s'; nothing to train.", self._retrieval_intent)
            return self._resource
        features = scipy.sparse.vstack([sentence_features(example) for example in examples], format="csr")
        labels = [example.get(INTENT_RESPONSE_KEY) for example in examples]
        self._classifier = LogisticRegression(
            C=self._config["C"],
            max_iter=self._config["max_iter"],
            random_state=self._config["random_state"],
            class_weight="balanced",
        ).fit(features, labels)
        prefix = util.intent_response_key_to_template_key(f"{self._retrieval_intent}/")
        self._responses = {key: value for key, value in training_data.responses.items() if key.startswith(prefix)}
        self._persist()
        return self._resource

    def _persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            dump_model(self._classifier, directory / MODEL_FILE)
            (directory / RESPONSES_FILE).write_text(json.dumps(self._responses, ensure_ascii=False))

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearResponseSelector":
        try:
            with model_storage.read_from(resource) as directory:
                # Only scikit-learn's and numpy's types are trusted in the file.
                classifier = load_model(directory / MODEL_FILE)
                if not isinstance(classifier, LogisticRegression):
                    raise UntrustedModelFile([type(classifier).__name__])
                responses = json.loads((directory / RESPONSES_FILE).read_text())
        except UntrustedModelFile as error:
            logger.warning("LinearResponseSelector: model refused, %s", error)
            return cls(config, model_storage, resource)
        except (ValueError, FileNotFoundError):
            logger.debug("LinearResponseSelector: no trained model in '%s'.", resource.name)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, classifier, responses)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._classifier is None:
            return messages
        for message in messages:
            # Only a message about the retrieval intent needs a topic; Rasa Core reads the
            # selector's answer for no other intent.
            if message.get(TEXT) and (message.get(INTENT) or {}).get("name") == self._retrieval_intent:
                self._select(message)
        return messages

    def _select(self, message: Message) -> None:
        probabilities = self._classifier.predict_proba(sentence_features(message))[0]
        order = np.argsort(-probabilities)[: self._config["ranking_length"]]
        ranking = [
            {PREDICTED_CONFIDENCE_KEY: float(probabilities[i]), INTENT_RESPONSE_KEY: str(self._classifier.classes_[i])}
            for i in order
        ]
        best = ranking[0][INTENT_RESPONSE_KEY]
        utter_action = util.intent_response_key_to_template_key(best)
        selector = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
        selector[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self._retrieval_intent]
        selector[self._retrieval_intent] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self._responses.get(utter_action, []),
                PREDICTED_CONFIDENCE_KEY: ranking[0][PREDICTED_CONFIDENCE_KEY],
                INTENT_RESPONSE_KEY: best,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selector, add_to_output=True)
