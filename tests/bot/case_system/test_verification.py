"""Identity verification through `POST /api/v1/verifications`.

The rules these tests pin down (ARCHITECTURE.md, "Identity verification"):
- case number plus birth date, or plus the full national identity number (mod-11 checked);
- on SMS the sender number must also match the number on file;
- one uniform refusal, whatever was wrong, and for case numbers that do not exist;
- 3 failures lock the case number for 30 minutes, on every channel and conversation;
- every attempt is audited, never with the values tried.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.case_system.contract.fields import timestamp

KARI = {"case_number": "100001", "birth_date": "1985-03-14", "national_id": "14838540024", "phone": "+4791234567"}
OLA = {"birth_date": "1992-11-02", "national_id": "02919230056"}
REFUSED = {"verified": False, "outcome": "refused"}
URL = "/api/v1/verifications"


def attempt(case_number="100001", *, channel="web", conversation_id="web:conversation-1", **factors):
    if "birth_date" not in factors and "national_id" not in factors:
        factors["birth_date"] = KARI["birth_date"]
    return {"case_number": case_number, "channel": channel, "conversation_id": conversation_id, **factors}


def wrong(case_number="100001", **extra):
    return attempt(case_number, birth_date="1985-03-15", **extra)


async def post(client, auth, body, **headers):
    response = await client.post(URL, json=body, headers={**auth, **headers})
    return response.status, await response.json()


# --- success -------------------------------------------------------------------------------------


async def test_case_number_and_birth_date_verify_and_list_the_debtors_open_cases(client, auth):
    status, body = await post(client, auth, attempt("100001", birth_date="1985-03-14"))
    assert status == 200
    assert body == {
        "verified": True,
        "debtor": {"first_name": "Kari", "language": "nb"},
        "case_numbers": ["100001"],
        "verified_case_number": "100001",
    }


async def test_national_id_verifies_and_spacing_is_ignored(client, auth):
    status, body = await post(client, auth, attempt("100 003", national_id="029192 30056"))
    assert status == 200
    assert body["verified"] is True
    assert body["verified_case_number"] == "100003"
    assert body["case_numbers"] == ["100002", "100003"]  # all open cases of Ola, sorted


async def test_the_debtors_language_comes_back(client, auth):
    status, body = await post(client, auth, attempt("100004", birth_date="1978-06-27"))
    assert (status, body["debtor"]) == (200, {"first_name": "Emma", "language": "en"})


async def test_a_closed_case_verifies_but_lists_only_open_cases(client, auth):
    status, body = await post(client, auth, attempt("100006", birth_date="1964-09-30"))
    assert status == 200
    assert body["verified"] is True and body["verified_case_number"] == "100006"
    assert body["case_numbers"] == []


@pytest.mark.parametrize("phone", ["+4791234567", "91234567", "+47 912 34 567", "0047 91234567"])
async def test_sms_needs_the_sender_number_on_file_in_any_notation(client, auth, phone):
    body = attempt(channel="sms", conversation_id="sms:5f2a", phone=phone)
    status, answer = await post(client, auth, body)
    assert (status, answer["verified"]) == (200, True)


async def test_the_sender_number_is_ignored_on_other_channels(client, auth):
    # Caller ID is never a factor on the phone; a web chat has no sender number at all.
    status, body = await post(client, auth, attempt(channel="voice", phone="+4799999999"))
    assert (status, body["verified"]) == (200, True)


# --- the uniform refusal -------------------------------------------------------------------------


async def test_every_kind_of_failure_gets_the_same_refusal(client, auth):
    # One attempt per case number, so that none of them gets locked.
    failures = {
        "unknown case": attempt("999999"),
        "wrong birth date": wrong("100001"),
        "someone else's birth date": attempt("100004", birth_date=OLA["birth_date"]),
        "someone else's national id": attempt("100005", national_id=OLA["national_id"]),
        "right date, wrong sms sender": attempt(
            "100002", birth_date=OLA["birth_date"], channel="sms", conversation_id="sms:1", phone=KARI["phone"]
        ),
    }
    answers = {}
    for name, body in failures.items():
        response = await client.post(URL, json=body, headers=auth)
        answers[name] = (response.status, await response.text())
    assert len(set(answers.values())) == 1, answers  # byte for byte
    status, text = answers["unknown case"]
    assert (status, json.loads(text)) == (200, REFUSED)


async def test_the_sender_number_alone_never_verifies(client, auth):
    status, body = await post(client, auth, wrong(channel="sms", conversation_id="sms:1", phone=KARI["phone"]))
    assert (status, body) == (200, REFUSED)


# --- locking -------------------------------------------------------------------------------------


async def test_three_failures_lock_the_case_number_for_thirty_minutes(client, auth, clock, probe):
    assert await post(client, auth, wrong()) == (200, REFUSED)
    assert await post(client, auth, wrong()) == (200, REFUSED)
    status, body = await post(client, auth, wrong())
    locked_until = clock.now + timedelta(minutes=30)
    assert (status, body) == (200, {"verified": False, "outcome": "locked", "locked_until": timestamp(locked_until)})
    assert await probe.lock("100001") == (3, locked_until)

    # While locked even the right answer is not checked, from any channel or conversation. The
    # attempts are counted, but the lock is neither extended nor lifted.
    for other in (attempt(), attempt(channel="sms", conversation_id="sms:2", phone=KARI["phone"])):
        assert (await post(client, auth, other))[1]["outcome"] == "locked"
    assert await probe.lock("100001") == (5, locked_until)


async def test_unknown_case_numbers_lock_the_same_way(client, auth):
    answers = [await post(client, auth, wrong("555555")) for _ in range(4)]
    assert [body["outcome"] for _, body in answers] == ["refused", "refused", "locked", "locked"]
    assert set(answers[2][1]) == {"verified", "outcome", "locked_until"}


async def test_a_lock_expires_after_thirty_minutes(client, auth, clock, probe):
    for _ in range(3):
        await post(client, auth, wrong())
    clock.advance(minutes=29, seconds=59)
    assert (await post(client, auth, attempt()))[1]["outcome"] == "locked"
    clock.advance(seconds=1)
    status, body = await post(client, auth, attempt())
    assert (status, body["verified"]) == (200, True)
    assert await probe.lock("100001") is None  # success clears the count


async def test_after_a_lock_expires_counting_starts_again(client, auth, clock, probe):
    for _ in range(3):
        await post(client, auth, wrong())
    clock.advance(minutes=30)
    assert await post(client, auth, wrong()) == (200, REFUSED)
    assert await probe.lock("100001") == (1, None)


async def test_success_resets_the_failure_count(client, auth):
    for _ in range(2):
        await post(client, auth, wrong())
    assert (await post(client, auth, attempt()))[1]["verified"] is True
    assert await post(client, auth, wrong()) == (200, REFUSED)
    assert await post(client, auth, wrong()) == (200, REFUSED)


async def test_concurrent_failures_are_all_counted_and_stop_at_the_lock(client, auth, probe):
    # Ten attempts at once from ten conversations: no increment may be lost, and once the third
    # attempt locks the case the rest are answered "locked" without being compared.
    bodies = [wrong(conversation_id=f"web:parallel-{n}") for n in range(10)]
    answers = await asyncio.gather(*(post(client, auth, body) for body in bodies))
    outcomes = sorted(body["outcome"] for _, body in answers)
    assert outcomes == ["locked"] * 8 + ["refused"] * 2
    count, locked_until = await probe.lock("100001")
    assert count == 10 and locked_until is not None
    events = [event for event in await probe.audit_events() if event.action == "identity.verify"]
    # The third was compared and refused (and told "locked"); seven were never compared.
    assert sorted(event.outcome for event in events) == ["locked"] * 7 + ["refused"] * 3


async def test_concurrent_failures_below_the_limit_are_counted_exactly(client_factory, auth, probe_for):
    async with client_factory(load_demo=True, MAX_VERIFICATION_FAILURES="20") as client:
        bodies = [wrong(conversation_id=f"web:parallel-{n}") for n in range(10)]
        answers = await asyncio.gather(*(post(client, auth, body) for body in bodies))
        assert {body["outcome"] for _, body in answers} == {"refused"}
        assert await probe_for(client).lock("100001") == (10, None)


# --- malformed factors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        (attempt(birth_date="2027-01-01"), "birth_date"),  # in the future
        (attempt(birth_date="14.03.1985"), "birth_date"),
        (attempt(birth_date="1985-02-30"), "birth_date"),
        (attempt(national_id="14838540025"), "national_id"),  # wrong check digit
        (attempt(national_id="1483854002"), "national_id"),  # ten digits
        (attempt("10000A"), "case_number"),
        (attempt("14838540024"), "case_number"),  # an identity number typed as the case number
    ],
)
async def test_malformed_factors_are_rejected_audited_and_not_counted(client, auth, probe, body, field):
    before = await probe.counts()
    response = await client.post(URL, json=body, headers=auth)
    assert response.status == 422
    answer = await response.json()
    assert answer["error"]["code"] == "validation_error"
    assert answer["error"]["field"] == field
    after = await probe.counts()
    assert after["verification_locks"] == before["verification_locks"] == 0
    assert {name: after[name] - before[name] for name in after} == {
        name: (1 if name == "audit_events" else 0) for name in after
    }
    [event] = await probe.audit_events()
    assert (event.outcome, event.detail) == ("rejected_input", field)
    assert event.subject_id == (None if field == "case_number" else "100001")
    text = await response.text()
    submitted = [value for value in body.values() if value not in ("web", "web:conversation-1")]
    assert not any(value in text for value in submitted)


async def test_synthetic_identity_numbers_are_refused_outside_demo_mode(client_factory, auth):
    async with client_factory(load_demo=True) as demo, client_factory(DEMO_MODE="false") as production:
        body = attempt(national_id=KARI["national_id"])
        assert (await demo.post(URL, json=body, headers=auth)).status == 200
        response = await production.post(URL, json=body, headers=auth)
        assert response.status == 422
        assert (await response.json())["error"]["field"] == "national_id"


# --- the audit trail -----------------------------------------------------------------------------


async def test_every_attempt_is_audited_without_the_values_tried(client, auth, probe):
    headers = {"X-Actor": "action-server", "X-Purpose": "verify_identity"}
    sent = [
        attempt(birth_date="1985-03-14"),
        attempt(national_id="14838540024"),
        wrong(),
        attempt(national_id="02919230056"),
        attempt(channel="sms", conversation_id="sms:77", phone="+4791234567"),
        attempt(national_id="14838540025"),  # rejected input
        attempt("999999", birth_date="1992-11-02"),
    ]
    for body in sent:
        await post(client, auth, body, **headers)

    events = await probe.audit_events()
    assert [event.outcome for event in events] == [
        "verified",
        "verified",
        "refused",
        "refused",
        "verified",
        "rejected_input",
        "refused",
    ]
    assert {(event.action, event.actor, event.purpose) for event in events} == {
        ("identity.verify", "action-server", "verify_identity")
    }
    assert [event.subject_id for event in events] == ["100001"] * 6 + ["999999"]
    assert [event.detail for event in events][:4] == ["birth_date", "national_id", "birth_date", "national_id"]
    assert events[4].channel == "sms" and events[4].conversation_id == "sms:77"

    secrets = {
        "1985-03-14", "1985-03-15", "1992-11-02", "14.03.1985", "140385",
        "14838540024", "14838540025", "02919230056", "+4791234567", "91234567", "Kari", "Nordmann",
    }  # fmt: skip
    columns = [column.key for column in events[0].__table__.columns]
    for event in events:
        for column in columns:
            value = getattr(event, column)
            if isinstance(value, str):
                assert not any(secret in value for secret in secrets), (column, value)


async def test_actor_and_purpose_must_be_identifiers_not_free_text(client, auth, probe):
    before = await probe.counts()
    response = await client.post(URL, json=attempt(), headers={**auth, "X-Actor": "Kari Nordmann 14838540024"})
    assert response.status == 400
    assert (await response.json())["error"] == {
        "code": "invalid_field",
        "message": "The field 'X-Actor' must be 1 to 100 letters, digits or the characters _ . : @ -.",
        "field": "X-Actor",
    }
    assert await probe.counts() == before
