"""Spoken and spaced numbers and dates: what speech recognition on the phone writes, and what some
debtors type. `normalisers.written_form` writes them out; the entity extractor then classifies
them like any typed number. Ordinary sentences with number words must stay untouched.

Relative dates resolve against Wednesday 25 November 2026.
"""

from datetime import date

import pytest

from bot.nlu import normalisers as nz
from bot.nlu.entity_extractor import extract_entities

TODAY = date(2026, 11, 25)


def entities(text):
    """(entity, value, the text its offsets point at) for each entity in the message."""
    return [(e["entity"], e["value"], text[e["start"] : e["end"]]) for e in extract_entities(text, TODAY)]


# --- the forms from the issue -------------------------------------------------------------------

CASE_100001 = [
    "1 0 0 0 0 1",
    "en null null null null en",
    "ein null null null null ein",
    "one zero zero zero zero one",
    "one oh oh oh oh one",
    "hundre tusen og en",
    "hundre og tusen og ein",
    "one hundred thousand and one",
]

BORN_1985_03_14 = [
    "fjortende mars nitten åttifem",
    "14 3 1985",
    "fjortande mars nittenåttifem",
    "march fourteenth nineteen eighty five",
    "the fourteenth of march 1985",
]


@pytest.mark.parametrize("said", CASE_100001)
def test_a_case_number_said_digit_by_digit_or_in_words_is_case_100001(said):
    assert nz.written_form(said) == "100001"
    assert entities(said) == [("case_number", "100001", said)]


@pytest.mark.parametrize("said", BORN_1985_03_14)
def test_a_spoken_birth_date_is_14_march_1985(said):
    found = entities(said)
    assert [(entity, value) for entity, value, _ in found] == [("birth_date", "1985-03-14")]
    assert said.endswith(found[0][2])  # the offsets cover the spoken date ("the" may stay outside)


# --- more digits said one by one -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "entity", "value"),
    [
        ("ni null null null null to", "case_number", "900002"),
        ("en to tre fire fem seks", "case_number", "123456"),
        ("1 2 3 4 5 6 7", "case_number", "1234567"),
        ("saksnummer 1 0 0 0 0 2", "case_number", "100002"),
        ("it's one zero zero zero zero two", "case_number", "100002"),
        ("case number one oh oh oh oh two", "case_number", "100002"),
        ("ja, det er en null null null null en", "case_number", "100001"),
        ("Saksnummeret mitt er ein null null null null to.", "case_number", "100002"),
        ("sju syv åtte åtte null null", "case_number", "778800"),
        ("født 1 4 0 3 8 5", "birth_date", "1985-03-14"),
        ("ring meg på ni ni ni åtte sju seks fem fire", "phone", "+4799987654"),
        ("mitt telefonnummer er ni en to tre fire fem seks sju", "phone", "+4791234567"),
        ("fødselsnummer en fem null tre åtte fem en to tre seks tre", "national_id", "15038512363"),
        ("my number is nine one two three four five six seven", "phone", "+4791234567"),
    ],
)
def test_digits_said_one_by_one_become_the_number(said, entity, value):
    assert [(e, v) for e, v, _ in entities(said)] == [(entity, value)]


def test_the_offsets_of_a_spoken_number_cover_the_words_as_said():
    text = "Saken min er en null null null null en, takk."
    assert entities(text) == [("case_number", "100001", "en null null null null en")]


def test_a_spoken_case_number_and_birth_date_in_one_message_are_both_found():
    text = "Jeg er født fjortende mars nitten åttifem og saken er en null null null null en"
    assert entities(text) == [
        ("birth_date", "1985-03-14", "fjortende mars nitten åttifem"),
        ("case_number", "100001", "en null null null null en"),
    ]


# --- more numbers in words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "ett hundre tusen og en",
        "eh, hundre tusen og en",
        "my case number is one hundred thousand and one",
        "saksnummeret er hundre tusen og en.",
        "a hundred thousand and one",
    ],
)
def test_a_case_number_in_words_is_read_when_it_is_the_answer_or_announced(said):
    assert [(e, v) for e, v, _ in entities(said)] == [("case_number", "100001")]


# --- more spoken dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "entity", "value"),
    [
        ("første april nitten nitti", "birth_date", "1990-04-01"),
        ("fyrste april nittennitti", "birth_date", "1990-04-01"),
        ("tjuefemte desember to tusen og ti", "birth_date", "2010-12-25"),
        ("the twenty-fifth of december two thousand ten", "birth_date", "2010-12-25"),
        ("december twenty fifth nineteen ninety", "birth_date", "1990-12-25"),
        ("fjortende i tredje nittenåttifem", "birth_date", "1985-03-14"),
        ("fjortende i tredje åttifem", "birth_date", "1985-03-14"),
        ("trettiførste januar syttifem", "birth_date", "1975-01-31"),
        ("thirty-first of january nineteen seventy-five", "birth_date", "1975-01-31"),
        ("march the fourteenth, nineteen eighty-five", "birth_date", "1985-03-14"),
        ("fjorten mars nitten åttifem", "birth_date", "1985-03-14"),
        ("14. mars nitten åttifem", "birth_date", "1985-03-14"),
        ("14 3 85", "birth_date", "1985-03-14"),
        ("født 14 3 85", "birth_date", "1985-03-14"),
        ("født tjueførste juni to tusen og fem", "birth_date", "2005-06-21"),
        ("june twenty-first two thousand five", "birth_date", "2005-06-21"),
        ("second of february twenty oh five", "birth_date", "2005-02-02"),
        ("attende mai nitten hundre og sytti", "birth_date", "1970-05-18"),
        ("åttende mai nitten sytti", "birth_date", "1970-05-08"),
        # Year-less and near dates are payment dates, resolved forward from 25 November 2026.
        ("jeg kan betale den tjuende desember", "date", "2026-12-20"),
        ("kan betale tjuende mars", "date", "2027-03-20"),
        ("I can pay on december the twentieth", "date", "2026-12-20"),
        ("tretti første mars", "date", "2027-03-31"),
    ],
)
def test_spoken_dates_are_read(said, entity, value):
    assert [(e, v) for e, v, _ in entities(said)] == [(entity, value)]


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("fjortende mars nitten åttifem", "14.3.1985"),
        ("the fourteenth of march 1985", "the 14.3.1985"),
        ("fjortende i tredje åttifem", "14.3.85"),
        ("tjuende desember", "20.12."),
        ("nineteen hundred and eighty five", "nineteen hundred and eighty five"),  # a year alone: no date
    ],
)
def test_the_written_form_of_a_spoken_date(said, written):
    assert nz.written_form(said) == written


@pytest.mark.parametrize(
    ("tokens", "year"),
    [
        (["nitten", "åttifem"], "1985"),
        (["nittenåttifem"], "1985"),
        (["nineteen", "eighty-five"], "1985"),
        (["nineteen", "eighty", "five"], "1985"),
        (["nitten", "hundre", "og", "åttifem"], "1985"),
        (["to", "tusen", "og", "fem"], "2005"),
        (["two", "thousand", "five"], "2005"),
        (["twenty", "oh", "five"], "2005"),
        (["tjue", "null", "fem"], "2005"),
        (["tjuetjue"], "2020"),
        (["åttifem"], "85"),
        (["nitten"], "19"),  # "fjortende mars nitten" is 2019
        (["nitten", "nitten", "nitten"], None),
        (["tre", "fire"], None),
    ],
)
def test_spoken_years(tokens, year):
    assert nz._spoken_year([nz.fold(token) for token in tokens]) == year


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "ore"),
    [
        ("to tusen fire hundre og femti kroner", 245000),
        ("kan betale to tusen fire hundre og femti kroner", 245000),
        ("hundre tusen kroner", 10000000),
        ("jeg betaler tolv hundre i måneden", 120000),
        ("I can pay two thousand four hundred and fifty kroner", 245000),
    ],
)
def test_amounts_in_words_stay_amounts(said, ore):
    assert [(e, v) for e, v, _ in entities(said)] == [("amount", ore)]


# --- ordinary sentences stay ordinary ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jeg har en faktura",
        "en gang til",
        "to tre ganger",
        "jeg har en sønn og to døtre",
        "vi er tre stykker",
        "oh one more thing",
        "I want to pay on the first",
        "I may first call my bank",
        "the first thing I want to know",
        "de andre betalte i mars",
        "jeg skylder hundre tusen",
        "to tusen",
        "født i nitten åttifem",
        "betale 14 3 85",
        "en null",
        "Hei, jeg lurer på en ting om saken min",
        "tusen takk for hjelpen",
        "I had one or two questions",
    ],
)
def test_ordinary_sentences_get_no_spoken_number(text):
    assert nz.spoken_rewrites(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "jeg har en faktura",
        "en gang til",
        "to tre ganger",
        "en to tre",  # written out as 123, which is no identifier and no amount
        "de andre betalte i mars",
        "jeg skylder hundre tusen",
    ],
)
def test_ordinary_sentences_get_no_entity(text):
    assert entities(text) == []


def test_to_before_spaced_digits_is_not_a_digit():
    """English "to" is not Norwegian two: a run of digits is of one language."""
    assert nz.written_form("send it to 1 0 0 0 0 1") == "send it to 100001"
    assert nz.written_form("send it to one zero zero zero zero one") == "send it to 100001"


def test_written_numbers_and_dates_are_left_to_the_extractor_as_they_are():
    for text in ("100001", "14.03.1985", "14. mars 1985", "20 desember", "betale 500 kr", "100 001"):
        assert nz.spoken_rewrites(text) == []
