"""What is removed before anything is stored or logged: identity numbers everywhere; the SMS
sender's number from metadata; a birth date where it was given for verification."""

import json
from datetime import date

import pytest

from bot.nlu.entity_extractor import extract_entities
from bot.redaction import (
    BIRTH_DATE_PLACEHOLDER,
    PLACEHOLDER,
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
