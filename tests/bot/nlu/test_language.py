"""The reply language follows what the debtor writes; short or neutral messages decide nothing."""

import pytest

from bot.nlu.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "hva skylder jeg",
        "kor mykje skuldar eg",  # Nynorsk / dialect
        "hvor mye skylder jeg, kan jeg fa utsettelse",  # without æøå
        "æ ska betal neste uke",  # dialect
        "jeg er født 14.03.1985",
        "Kan jeg betale i avdrag?",
    ],
)
def test_norwegian_in_any_written_form_is_answered_in_bokmal(text: str) -> None:
    assert detect_language(text) == "nb"


@pytest.mark.parametrize(
    "text",
    ["how much do I owe", "what is this claim about?", "I want to pay in installments", "my case number is 100001"],
)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", ["ok", "100001", "14.03.1985", "", "👍", "/affirm", "thanks"])
def test_messages_that_say_too_little_decide_nothing(text: str) -> None:
    assert detect_language(text) is None


def test_a_mostly_norwegian_message_with_one_english_word_stays_norwegian() -> None:
    assert detect_language("jeg vil betale, please hjelp meg") == "nb"
