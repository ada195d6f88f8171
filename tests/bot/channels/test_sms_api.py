"""The case system's SMS routes (used by the SMS channel): retries deduplicated, consent keywords
applied, opted-out numbers suppressed, delivery reports recorded, bad input refused with nothing
written. On SQLite and PostgreSQL, with the case-system test fixtures."""

from __future__ import annotations

import secrets

from tests.bot.case_system.conftest import (  # noqa: F401  (fixtures)
    auth,
    client,
    clock,
    database_url,
    empty_client,
    migrated_postgres_url,
    migrated_sqlite_template,
    postgres_available,
    probe,
    settings,
)


def sid() -> str:
    return "SM" + secrets.token_hex(16)


async def inbound(client, auth, **fields):
    body = {"message_sid": sid(), "from_phone": "+4791234567", "body": "hei", **fields}
    response = await client.post("/api/v1/sms/inbound", json=body, headers=auth)
    return response.status, await response.json()


async def test_a_retried_message_is_a_duplicate(client, auth):
    message_sid = sid()
    assert (await inbound(client, auth, message_sid=message_sid))[1] == {
        "duplicate": False,
        "consent": None,
        "opted_out": False,
    }
    assert (await inbound(client, auth, message_sid=message_sid))[1]["duplicate"] is True


async def test_stopp_opts_out_start_opts_in_and_the_outbox_suppresses_meanwhile(client, auth):
    status, answer = await inbound(client, auth, body="STOPP", from_phone="91234567")  # national form accepted
    assert status == 200 and answer == {"duplicate": False, "consent": "opt_out", "opted_out": True}
    queued = await client.post(
        "/api/v1/sms/outbox", json={"to_phone": "+4791234567", "body": "Hei", "purpose": "reminder"}, headers=auth
    )
    assert queued.status == 201 and (await queued.json())["status"] == "suppressed"
    assert (await inbound(client, auth, body="start"))[1] == {
        "duplicate": False,
        "consent": "opt_in",
        "opted_out": False,
    }
    queued = await client.post(
        "/api/v1/sms/outbox", json={"to_phone": "+4791234567", "body": "Hei", "purpose": "reminder"}, headers=auth
    )
    assert (await queued.json())["status"] == "pending"


async def test_bad_input_is_refused_and_writes_nothing(client, auth, probe):
    before = await probe.counts()
    bad = [
        ("/api/v1/sms/inbound", {"message_sid": "nope", "from_phone": "+4791234567", "body": "hei"}, "message_sid"),
        ("/api/v1/sms/inbound", {"message_sid": sid(), "from_phone": "not a number", "body": "hei"}, "from_phone"),
        ("/api/v1/sms/outbox", {"to_phone": "+4791234567", "body": "x" * 1601, "purpose": "reminder"}, "body"),
        ("/api/v1/sms/outbox", {"to_phone": "+4791234567", "body": "Hei", "purpose": "Not A Code"}, "purpose"),
        ("/api/v1/sms/status", {"provider_id": sid(), "status": "exploded"}, "status"),
    ]
    for path, body, field in bad:
        response = await client.post(path, json=body, headers=auth)
        assert response.status in (400, 422), path
        assert (await response.json())["error"]["field"] == field
    unknown = await client.post("/api/v1/sms/status", json={"provider_id": sid(), "status": "failed"}, headers=auth)
    assert unknown.status == 404
    assert await probe.counts() == before


async def test_the_routes_need_the_bearer_key(client):
    response = await client.post("/api/v1/sms/outbox", json={"to_phone": "+4791234567", "body": "Hei", "purpose": "x"})
    assert response.status == 401


async def test_twilios_opt_out_type_counts_whatever_the_words(client, auth):
    status, answer = await inbound(
        client, auth, body="Nei takk, ikke mer", opt_out_type="STOP", from_phone="+4741000005"
    )
    assert answer == {"duplicate": False, "consent": "opt_out", "opted_out": True}
