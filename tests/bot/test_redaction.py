"""What is removed before anything is stored or logged: identity numbers everywhere; the SMS
sender's number from metadata; a birth date where it was given for verification. What is kept:
account numbers, KIDs, case numbers and amounts, so that payment instructions read as sent."""

import json
from datetime import date

import pytest

from bot.identifiers import is_valid_account_number, is_valid_kid
from bot.logs import REMOVED, scrub
from bot.nlu.entity_extractor import extract_entities
from bot.redaction import (
    BIRTH_DATE_PLACEHOLDER,
    PLACEHOLDER,
    is_identity_number,
    redact,
    redact_events,
    redact_serialised_events,
    redact_text,
)


def test_identity_numbers_are_removed_in_any_common_spelling() -> None:
    for written in ("14838540024", "148385 40024", "148385-40024"):
        assert redact_text(f"mitt fnr er {written}, takk") == f"mitt fnr er {PLACEHOLDER}, takk"


def test_shorter_and_longer_digit_runs_are_kept() -> None:
    assert redact_text("sak 100001, konto 123456789012") == "sak 100001, konto 123456789012"


# Identity numbers of every kind, all born 14 March 1985 (control digits by the mod-11 rules).
IDENTITY_NUMBERS = {
    "fødselsnummer": "14038540069",
    "D-number (day + 40)": "54038540052",
    "H-number (month + 40)": "14438540041",
    "synthetic (month + 80)": "14838540024",
    "synthetic D-number": "54838540018",
}


@pytest.mark.parametrize("kind", IDENTITY_NUMBERS)
def test_every_kind_of_identity_number_is_removed_however_it_is_grouped(kind: str) -> None:
    number = IDENTITY_NUMBERS[kind]
    assert is_identity_number(number)
    for written in (
        number,
        f"{number[:6]} {number[6:]}",
        f"{number[:6]}\u00a0{number[6:]}",
        f"{number[:6]}-{number[6:]}",
        f"{number[:2]}.{number[2:4]}.{number[4:6]} {number[6:]}",
        f"{number[:6]} {number[6:9]} {number[9:]}",
    ):
        assert redact_text(f"fnr {written}.") == f"fnr {PLACEHOLDER}.", written


@pytest.mark.parametrize("number", ["15038512371", "15038512398", "41010050055", "14838540032"])
def test_numbers_issued_from_2032_are_removed_too(number: str) -> None:
    # The first control digit may leave a remainder of 1 to 3 from 2032 (Skatteetaten).
    assert redact_text(f"fnr {number[:6]} {number[6:]}") == f"fnr {PLACEHOLDER}"


def test_an_identity_number_next_to_other_numbers_is_found_and_they_are_kept() -> None:
    assert redact_text("sak 100006 14038540069 1500 kr") == f"sak 100006 {PLACEHOLDER} 1500 kr"
    assert redact_text("sak 100006 140385 40069") == f"sak 100006 {PLACEHOLDER}"


# Real-looking bank account numbers (kontonummer: mod-11 on the last digit only). The first two
# read as birth dates (15.03.20 and 12.06.35) and are still not identity numbers.
ACCOUNTS_PASSING_MOD11 = ("1503.20.00115", "1206.35.12344", "8601.11.17947", "12345678903")
ACCOUNTS_FAILING_MOD11 = ("1503.20.00116", "1206.35.12340", "8601.11.17940", "12345678901")
KIDS_PASSING = ("00001000066", "1234567897", "40123456787", "123456785-")  # MOD10, MOD10, MOD11, MOD11
KIDS_FAILING = ("00001000067", "1234567890", "40123456780")
NOT_IDENTITY_NUMBERS = (
    "14038540068",  # a birth date and a wrong second control digit
    "14038540079",  # a wrong first control digit
    "32038540069",  # no such day
    "01010050096",  # first control digit leaves 4: valid under neither rule
)


def test_the_examples_are_what_they_claim_to_be() -> None:
    assert all(is_valid_account_number(number) for number in ACCOUNTS_PASSING_MOD11)
    assert not any(is_valid_account_number(number) for number in ACCOUNTS_FAILING_MOD11)
    assert all(is_valid_kid(kid) for kid in KIDS_PASSING)
    assert not any(is_valid_kid(kid) for kid in KIDS_FAILING)


@pytest.mark.parametrize(
    "number", ACCOUNTS_PASSING_MOD11 + ACCOUNTS_FAILING_MOD11 + KIDS_PASSING + KIDS_FAILING + NOT_IDENTITY_NUMBERS
)
def test_account_numbers_kids_and_near_misses_are_kept(number: str) -> None:
    text = f"Betal til kontonummer {number} og bruk KID {number}."
    assert redact_text(text) == text
    assert scrub(text) == text  # the logs use the same rule


def test_payment_instructions_keep_their_numbers_in_everything_stored() -> None:
    instructions = "Betal 1 500,00 kr til kontonummer 1503.20.00115 og bruk KID 00001000066 (sak 100006)."
    bot = {"event": "bot", "text": instructions, "data": {"custom": {"kid": "00001000066"}}}
    assert stored(bot)[0] == bot
    asked = user("hvordan betaler jeg til 15032000115?")
    assert stored(asked)[0]["text"] == "hvordan betaler jeg til 15032000115?"


def test_the_logs_remove_identity_numbers_with_their_own_placeholder() -> None:
    assert scrub("fnr 140385 40069, konto 15032000115") == f"fnr {REMOVED}, konto 15032000115"


def verifying(given: str, text: str) -> list[dict]:
    """A turn in which the debtor gives `given` as their identity number in `text`."""
    return stored(
        user(text),
        {"event": "slot", "name": "national_id", "value": given},
        {"event": "action", "name": "action_verify_identity"},
        {"event": "bot", "text": f"Nummeret {given} stemmer ikke med saken."},
        {"event": "slot", "name": "national_id", "value": None},
    )


def test_what_the_debtor_gave_as_identity_number_is_removed_even_when_it_is_not_valid() -> None:
    events = verifying("14038540068", "mitt fnr er 140385 40068")  # mistyped: wrong control digit
    assert events[0]["text"] == f"mitt fnr er {PLACEHOLDER}"
    assert events[3]["text"] == f"Nummeret {PLACEHOLDER} stemmer ikke med saken."
    assert "40068" not in json.dumps(events)


def test_eleven_digits_that_only_filled_the_slot_are_not_taken_as_given() -> None:
    # Any eleven digits fill the national_id slot; without a verification they were not given as one.
    events = stored(
        user("jeg betalte til 15032000115"), {"event": "slot", "name": "national_id", "value": "15032000115"}
    )
    assert events[0]["text"] == "jeg betalte til 15032000115"


def test_nested_event_data_is_redacted_everywhere() -> None:
    event = {
        "text": "14838540024",
        "parse_data": {"entities": [{"entity": "national_id", "value": "14838540024"}]},
        "value": ["x", "14838540024"],
        "confidence": 0.9,
    }
    cleaned = redact(event)
    assert "14838540024" not in repr(cleaned)
    assert cleaned["confidence"] == 0.9


# --- what the tracker store persists (redact_events) -------------------------------------------

TODAY = date(2026, 12, 6)


def user(text: str, **extra) -> dict:
    entities = extract_entities(text, TODAY)
    return {"event": "user", "text": text, "parse_data": {"text": text, "entities": entities}, **extra}


def asked_for(slot) -> dict:
    return {"event": "slot", "name": "requested_slot", "value": slot}


def stored(*events: dict) -> list[dict]:
    return list(redact_events(events, today=TODAY))


@pytest.mark.parametrize(
    "written", ["14.03.1985", "14/3/85", "14.3.85", "140385", "14031985", "14. mars 1985", "1985-03-14", "14 03 1985"]
)
def test_an_answer_to_the_birth_date_question_loses_the_date_however_it_is_written(written: str) -> None:
    answer = stored(asked_for("birth_date"), user(written))[1]
    assert answer["text"] == BIRTH_DATE_PLACEHOLDER
    assert answer["parse_data"]["text"] == BIRTH_DATE_PLACEHOLDER
    for entity in answer["parse_data"]["entities"]:  # the type stays, the value goes
        assert entity["value"] == BIRTH_DATE_PLACEHOLDER
        assert answer["text"][entity["start"] : entity["end"]] == BIRTH_DATE_PLACEHOLDER


def test_a_birth_date_found_by_the_extractor_is_removed_anywhere_and_the_rest_keeps_its_place() -> None:
    message = stored(user("født 14. mars 1985, saksnummer 100001 takk"))[0]
    assert message["text"] == f"født {BIRTH_DATE_PLACEHOLDER}, saksnummer 100001 takk"
    entities = {entity["entity"]: entity for entity in message["parse_data"]["entities"]}
    case = entities["case_number"]
    assert (message["text"][case["start"] : case["end"]], case["value"]) == ("100001", "100001")
    assert entities["birth_date"]["value"] == BIRTH_DATE_PLACEHOLDER


def test_dates_outside_verification_are_kept() -> None:
    # A payment date is what the debtor tells about a payment, and a caseworker needs it.
    assert stored(user("jeg betalte 14.03"))[0]["text"] == "jeg betalte 14.03"
    assert stored(asked_for("case_number"), user("140385"))[1]["text"] == "140385"  # a case number


def test_only_the_answer_to_the_question_is_read_as_a_birth_date() -> None:
    events = stored(asked_for("birth_date"), user("140385"), asked_for(None), user("1403851"))
    assert [event["text"] for event in events if event["event"] == "user"] == [BIRTH_DATE_PLACEHOLDER, "1403851"]
    after_a_new_session = stored(asked_for("birth_date"), {"event": "session_started"}, user("140385"))
    assert after_a_new_session[2]["text"] == "140385"


def test_the_verification_factors_are_stored_as_empty_slots() -> None:
    events = stored(
        {"event": "slot", "name": "birth_date", "value": "1985-03-14"},
        {"event": "slot", "name": "national_id", "value": "14838540024"},
        {"event": "slot", "name": "case_number", "value": "100001"},
    )
    assert [event["value"] for event in events] == [None, None, "100001"]


def test_digits_that_fill_the_case_number_slot_while_the_birth_date_is_answered_are_removed() -> None:
    events = stored(
        asked_for("birth_date"),
        user("140385"),
        {"event": "slot", "name": "case_number", "value": "140385"},  # from the case_number entity
        {"event": "slot", "name": "case_number", "value": "100001"},  # the form's correction
    )
    assert [event["value"] for event in events[2:]] == [None, "100001"]


def test_the_senders_phone_number_leaves_all_metadata_and_the_language_stays() -> None:
    events = stored(
        {
            "event": "slot",
            "name": "session_started_metadata",
            "value": {"sender_phone": "+4791234567", "from": "+4798765432", "language": "en"},
        },
        {"event": "session_started", "metadata": {"sender_phone": "+4791234567"}},
        user("hei", metadata={"sender_phone": "+4791234567", "caller": "+4798765432", "language": "nb"}),
    )
    assert "4791234567" not in repr(events) and "4798765432" not in repr(events)
    assert events[0]["value"] == {"language": "en"}
    assert events[2]["metadata"] == {"language": "nb"}


def test_the_placeholders_say_what_was_removed() -> None:
    # The tests of the tracker store and of the running stack look for these words.
    assert (PLACEHOLDER, BIRTH_DATE_PLACEHOLDER) == ("[fødselsnummer fjernet]", "[fødselsdato fjernet]")


def test_rows_read_back_from_the_store_are_redacted_whatever_their_json_escapes() -> None:
    rows = [
        json.dumps(asked_for("birth_date")),
        json.dumps(user("14.03.1985", metadata={"sender_phone": "+4791234567"})),  # æøå and NBSP escaped
        json.dumps({"event": "user", "text": "fnr 148385\u00a040024", "parse_data": {"entities": []}}),
    ]
    events = redact_serialised_events(rows, today=TODAY)
    assert [event["text"] for event in events[1:]] == [BIRTH_DATE_PLACEHOLDER, f"fnr {PLACEHOLDER}"]
    assert "metadata" not in events[1] or events[1]["metadata"] == {}
