"""Verification actions against the real case system: what is said and what is remembered."""

from __future__ import annotations

from datetime import date

from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import CaseSystemClient
from actions.verification import (
    ActionVerifyIdentity,
    ActionWrongPerson,
    ValidateVerificationForm,
    birth_date_from_digits,
)
from tests.actions.conftest import make_tracker, responses, slot_events

KARI = {"case_number": "100001", "birth_date": "1985-03-14"}


async def verify(slots: dict, **tracker_options) -> tuple[CollectingDispatcher, dict]:
    dispatcher = CollectingDispatcher()
    events = await ActionVerifyIdentity().run(dispatcher, make_tracker(slots, **tracker_options), {})
    return dispatcher, slot_events(events)


async def test_right_birth_date_verifies_and_forgets_the_factors(client: CaseSystemClient) -> None:
    dispatcher, slots = await verify(KARI)
    assert responses(dispatcher) == ["utter_verified"]
    assert slots["verified"] is True
    assert slots["verification_outcome"] == "verified"
    assert slots["verified_case_number"] == "100001"
    assert slots["case_numbers"] == ["100001"]
    assert slots["case_number"] is None and slots["birth_date"] is None and slots["national_id"] is None


async def test_identity_number_verifies_and_is_not_kept(client: CaseSystemClient) -> None:
    dispatcher, slots = await verify({"case_number": "100001", "national_id": "14838540024"})
    assert slots["verified"] is True
    assert slots["national_id"] is None


async def test_debtor_with_two_cases_is_told_how_many(client: CaseSystemClient) -> None:
    dispatcher, slots = await verify({"case_number": "100002", "birth_date": "1992-11-02"})
    assert responses(dispatcher) == ["utter_verified", "utter_several_cases"]
    assert dispatcher.messages[1]["case_count"] == 2
    assert slots["case_numbers"] == ["100002", "100003"]


async def test_wrong_date_and_unknown_case_get_the_same_refusal(client: CaseSystemClient) -> None:
    wrong_date, wrong_date_slots = await verify({"case_number": "100001", "birth_date": "1985-03-15"})
    unknown, unknown_slots = await verify({"case_number": "999999", "birth_date": "1985-03-14"})
    assert responses(wrong_date) == responses(unknown) == ["utter_verification_refused"]
    assert wrong_date.messages == unknown.messages
    assert wrong_date_slots == unknown_slots
    assert "verified" not in wrong_date_slots


async def test_a_refusal_keeps_the_case_number_so_only_the_date_is_typed_again(client: CaseSystemClient) -> None:
    _, refused = await verify({"case_number": "100001", "birth_date": "1985-03-15"})
    assert "case_number" not in refused  # kept as typed
    assert refused["birth_date"] is None and refused["national_id"] is None
    # The next try with the kept case number and the right date verifies.
    _, verified = await verify({"case_number": "100001", "birth_date": "1985-03-14", "verification_outcome": "refused"})
    assert verified["verified"] is True and verified["case_number"] is None


async def test_keeping_the_case_number_does_not_change_the_lock(client: CaseSystemClient) -> None:
    wrong = {"case_number": "100006", "birth_date": "1990-01-01", "verification_outcome": "refused"}
    outcomes = [(await verify(wrong))[1]["verification_outcome"] for _ in range(3)]
    assert outcomes == ["refused", "refused", "locked"]
    _, locked = await verify({**wrong, "birth_date": "1990-01-02"})
    assert locked["case_number"] is None  # a lock forgets everything


async def test_impossible_identity_number_gets_the_uniform_refusal(client: CaseSystemClient) -> None:
    dispatcher, slots = await verify({"case_number": "100001", "national_id": "14838540025"})
    assert responses(dispatcher) == ["utter_verification_refused"]
    assert slots["verification_outcome"] == "refused"


async def test_third_failure_locks_and_offers_a_caseworker(client: CaseSystemClient) -> None:
    wrong = {"case_number": "100004", "birth_date": "1978-06-28"}
    for _ in range(2):
        _, slots = await verify(wrong, sender_id="web-a")
        assert slots["verification_outcome"] == "refused"
    dispatcher, slots = await verify(wrong, sender_id="web-b")
    assert slots["verification_outcome"] == "locked"
    assert slots["handoff_reason"] == "locked"
    assert responses(dispatcher) == ["utter_verification_locked"]
    assert 1 <= dispatcher.messages[0]["lock_minutes"] <= 30
    # Locked means locked: the right answer is refused too, from any conversation.
    _, slots = await verify({"case_number": "100004", "birth_date": "1978-06-27"}, sender_id="web-c")
    assert slots["verification_outcome"] == "locked"


async def test_sms_sender_must_match_the_number_on_file(client: CaseSystemClient) -> None:
    _, matching = await verify(KARI, channel="twilio_sms", metadata={"sender_phone": "+4791234567"})
    _, other = await verify(KARI, channel="twilio_sms", metadata={"sender_phone": "+4798765432"})
    assert matching["verified"] is True
    assert other["verification_outcome"] == "refused"


async def test_unreachable_case_system_gets_a_polite_answer(settings) -> None:
    from actions import services

    unreachable = CaseSystemClient("http://127.0.0.1:9/api/v1", "key", 1)  # nothing listens on port 9
    services.use(settings=settings, case_system=unreachable)
    try:
        dispatcher, slots = await verify(KARI)
    finally:
        services.use()
        await unreachable.close()
    assert responses(dispatcher) == ["utter_case_system_unavailable"]
    assert dispatcher.messages[0]["agency_phone"] == settings.agency_phone
    assert slots["verification_outcome"] == "unavailable"


def test_form_asks_for_the_birth_date_unless_an_identity_number_was_given() -> None:
    import asyncio

    form = ValidateVerificationForm()
    dispatcher = CollectingDispatcher()
    domain_slots = ["case_number", "birth_date", "national_id"]
    default = asyncio.run(form.required_slots(domain_slots, dispatcher, make_tracker(), {}))
    with_id = asyncio.run(
        form.required_slots(domain_slots, dispatcher, make_tracker({"national_id": "14838540024"}), {})
    )
    assert default == ["case_number", "birth_date"]
    assert with_id == ["case_number", "national_id"]


def test_six_digits_given_as_a_birth_date_are_read_as_one() -> None:
    tracker = make_tracker(
        {"case_number": "140385", "requested_slot": "birth_date"},
        events=[
            {"event": "slot", "name": "case_number", "value": "100001"},
            {"event": "user", "text": "100001"},
            {"event": "slot", "name": "requested_slot", "value": "birth_date"},
        ],
        text="140385",
    )
    result = ValidateVerificationForm().validate_case_number("140385", CollectingDispatcher(), tracker, {})
    assert result == {"case_number": "100001", "birth_date": "1985-03-14"}


def test_after_a_refusal_six_digits_are_the_date_tried_again() -> None:
    tracker = make_tracker(
        {"case_number": "140385", "verification_outcome": "refused", "requested_slot": None},
        events=[
            {"event": "slot", "name": "case_number", "value": "100001"},
            {"event": "slot", "name": "verification_outcome", "value": "refused"},
            {"event": "user", "text": "140385"},
        ],
        text="140385",
    )
    result = ValidateVerificationForm().validate_case_number("140385", CollectingDispatcher(), tracker, {})
    assert result == {"case_number": "100001", "birth_date": "1985-03-14"}
    # A case number that is no date is a new case number.
    result = ValidateVerificationForm().validate_case_number("100002", CollectingDispatcher(), tracker, {})
    assert result == {"case_number": "100002"}


async def test_the_wrong_person_is_asked_nothing_more_and_offered_a_caseworker() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"case_number": "100001", "pending_topic": "balance"}, text="det er ikke meg dere leter etter"
    )
    events = await ActionWrongPerson().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_wrong_person"]
    assert slot_events(events) == {
        "case_number": None,
        "birth_date": None,
        "national_id": None,
        "pending_topic": None,
        "handoff_reason": "wrong_person",
    }


def test_case_numbers_must_have_six_to_eight_digits() -> None:
    dispatcher = CollectingDispatcher()
    form = ValidateVerificationForm()
    assert form.validate_case_number("sak 100 001", dispatcher, make_tracker(), {}) == {"case_number": "100001"}
    assert form.validate_case_number("12345", dispatcher, make_tracker(), {}) == {"case_number": None}
    assert responses(dispatcher) == ["utter_invalid_case_number"]


def test_future_birth_dates_are_refused_before_asking_the_case_system() -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateVerificationForm().validate_birth_date("2999-01-01", dispatcher, make_tracker(), {})
    assert result == {"birth_date": None}
    assert responses(dispatcher) == ["utter_invalid_birth_date"]


def test_birth_date_digits() -> None:
    assert birth_date_from_digits("140385", date(2026, 11, 25)) == date(1985, 3, 14)
    assert birth_date_from_digits("01012020", date(2026, 11, 25)) == date(2020, 1, 1)
    assert birth_date_from_digits("310290", date(2026, 11, 25)) is None
    assert birth_date_from_digits("100001", date(2026, 11, 25)) is None
