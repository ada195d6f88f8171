"""The rights-requests API on SQLite and PostgreSQL: logging, verification, effects, listing, export."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import DataExport, Debtor, Handoff, RightsRequest
from bot.redaction import PLACEHOLDER

KARI = {"case_number": "100001", "birth_date": "1985-03-14", "national_id": "14838540024"}
ACTION_SERVER = {"X-Actor": "assistant:web", "X-Purpose": "rights_request"}


async def verify(client, auth, conversation_id: str, *, case_number: str = "100001", channel: str = "web", **factor):
    body = {"case_number": case_number, "channel": channel, "conversation_id": conversation_id, **factor}
    if not factor:
        body["birth_date"] = KARI["birth_date"]
    if channel == "sms":
        body["phone"] = "+4791234567"
    response = await client.post("/api/v1/verifications", json=body, headers=auth)
    assert response.status == 200
    return await response.json()


async def log_request(client, auth, **body):
    body = {"channel": "web", "conversation_id": "web-conversation-1", **body}
    response = await client.post("/api/v1/rights-requests", json=body, headers={**auth, **ACTION_SERVER})
    return response.status, await response.json()


async def debtor(client, national_id: str = KARI["national_id"]) -> Debtor:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return (await session.execute(sa.select(Debtor).where(Debtor.national_id == national_id))).scalar_one()


async def test_an_unverified_request_is_logged_as_identity_not_yet_confirmed(client, auth, probe):
    status, body = await log_request(client, auth, type="erasure", request_text="slett alt om meg")
    assert status == 201
    assert body["type"] == "erasure" and body["status"] == "received"
    assert body["verified"] is False and body["verification_method"] is None and body["case_number"] is None
    assert body["id"].startswith("PV-") and len(body["id"]) == 9
    assert body["received_at"] == "2026-11-25T09:30:00+00:00"
    assert body["due_date"] == "2026-12-25"
    assert body["overdue"] is False
    async with client.app[CASE_SYSTEM].sessions() as session:
        stored = (await session.execute(sa.select(RightsRequest))).scalar_one()
    assert stored.request_text == "slett alt om meg"
    assert stored.debtor_id is None and stored.case_id is None and stored.channel.value == "web"
    events = [event for event in await probe.audit_events() if event.action == "rights_request.create"]
    assert [(e.subject_id, e.outcome, e.detail, e.actor, e.purpose) for e in events] == [
        (body["id"], "created", "erasure", "assistant:web", "rights_request")
    ]


async def test_a_verified_request_names_the_case_and_how_identity_was_confirmed(client, auth):
    await verify(client, auth, "web-conversation-1")
    status, body = await log_request(client, auth, type="restriction", case_number="100001")
    assert status == 201
    assert body["verified"] is True and body["verification_method"] == "birth_date"
    assert body["case_number"] == "100001"
    await verify(client, auth, "sms-conversation-2", channel="sms", national_id=KARI["national_id"])
    status, body = await log_request(
        client, auth, type="erasure", case_number="100001", channel="sms", conversation_id="sms-conversation-2"
    )
    assert status == 201
    assert (body["channel"], body["verification_method"]) == ("sms", "national_id")


async def test_a_case_not_verified_in_this_conversation_is_refused_and_nothing_is_written(client, auth, probe):
    await verify(client, auth, "another-conversation")
    before = await probe.counts()
    for case_number in ("100001", "999999"):  # verified elsewhere, and no such case: the same answer
        status, body = await log_request(client, auth, type="access", case_number=case_number)
        assert status == 403
        assert body["error"] == {
            "code": "case_not_verified",
            "message": "The case number has not been verified in this conversation.",
            "field": "case_number",
        }
    assert await probe.counts() == before


async def test_a_failed_verification_does_not_count(client, auth):
    result = await verify(client, auth, "web-conversation-1", birth_date="1985-03-15")
    assert result["verified"] is False
    status, _ = await log_request(client, auth, type="access", case_number="100001")
    assert status == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "forget_me"}, "type"),
        ({"type": "access", "channel": "fax"}, "channel"),
        ({"type": "access", "conversation_id": "has spaces"}, "conversation_id"),
        ({"type": "access", "case_number": "12"}, "case_number"),
        ({"type": "erasure", "rectification_wrong": "my name"}, "rectification_wrong"),
        ({"type": "access", "request_text": "x" * 4001}, "request_text"),
        ({"type": "access", "idempotency_key": "k" * 101}, "idempotency_key"),
    ],
)
async def test_bad_input_gets_a_clear_answer_and_writes_nothing(client, auth, probe, body, field):
    before = await probe.counts()
    status, answer = await log_request(client, auth, **body)
    assert status == 422
    assert answer["error"]["field"] == field
    assert await probe.counts() == before


async def test_rectification_keeps_what_is_wrong_and_what_is_right_in_the_debtors_words(client, auth):
    await verify(client, auth, "web-conversation-1")
    status, body = await log_request(
        client,
        auth,
        type="rectification",
        case_number="100001",
        request_text="adressen er feil",
        rectification_wrong="Storgata 1",
        rectification_right="Lillegata 2, og fnr 14838540024",
    )
    assert status == 201
    answer = await client.get(f"/api/v1/rights-requests/{body['id']}", headers=auth)
    detail = await answer.json()
    assert detail["rectification_wrong"] == "Storgata 1"
    assert detail["rectification_right"] == f"Lillegata 2, og fnr {PLACEHOLDER}"  # never stored
    assert detail["request_text"] == "adressen er feil"


async def test_an_objection_sets_the_marketing_objection_at_once_when_verified(client, auth, probe):
    status, body = await log_request(client, auth, type="objection")  # unverified: nothing changes
    assert status == 201 and body["effects"] == {}
    assert (await debtor(client)).marketing_objection is False

    await verify(client, auth, "web-conversation-1")
    status, body = await log_request(client, auth, type="objection", case_number="100001")
    assert status == 201 and body["effects"] == {"marketing_objection": True}
    assert (await debtor(client)).marketing_objection is True
    events = [e for e in await probe.audit_events() if e.action == "debtor.marketing_objection"]
    assert len(events) == 1 and events[0].detail == body["id"]


async def test_human_review_creates_a_handoff_linked_to_the_request(client, auth):
    transcript = [{"sender": "user", "text": "jeg vil at et menneske ser på vedtaket", "at": "2026-11-25T09:29:00Z"}]
    status, body = await log_request(client, auth, type="human_review", transcript=transcript)
    assert status == 201
    assert body["status"] == "in_progress"
    async with client.app[CASE_SYSTEM].sessions() as session:
        handoff = (await session.execute(sa.select(Handoff))).scalar_one()
    assert body["effects"] == {"handoff_id": handoff.id} and body["handoff_id"] == handoff.id
    assert handoff.reason == "human_review" and handoff.conversation_id == "web-conversation-1"
    assert body["id"] in handoff.summary and "not yet confirmed" in handoff.summary
    assert handoff.transcript[0]["text"] == "jeg vil at et menneske ser på vedtaket"


async def test_access_produces_the_debtors_export_for_a_caseworker(client, auth, probe):
    conversation = "web-conversation-1"
    await verify(client, auth, conversation)
    await client.post(
        "/api/v1/handoffs",
        json={"conversation_id": "older-one", "channel": "web", "reason": "requested", "case_number": "100001"},
        headers=auth,
    )
    status, body = await log_request(client, auth, type="access", case_number="100001", conversation_id=conversation)
    assert status == 201 and body["status"] == "in_progress" and body["has_export"] is True
    assert "export_id" in body["effects"]

    response = await client.get(f"/api/v1/rights-requests/{body['id']}/export", headers=auth)
    assert response.status == 200
    data = await response.json()
    assert data["rights_request"] == body["id"]
    assert data["debtor"]["first_name"] == "Kari" and data["debtor"]["national_id"] == KARI["national_id"]
    assert [case["case_number"] for case in data["cases"]] == ["100001"]
    case = data["cases"][0]
    assert {line["type"] for line in case["lines"]} >= {"principal", "late_payment_interest"}
    assert case["invoice"]["amount"] == "2450.00"
    assert [item["id"] for item in data["rights_requests"]] == [body["id"]]
    assert [item["reason"] for item in data["handoffs"]] == ["requested"]
    assert conversation in [item["conversation_id"] for item in data["conversations"]]
    assert {"identity.verify", "rights_request.create"} <= {event["action"] for event in data["audit_events"]}
    for key in ("debtor", "cases", "rights_requests", "handoffs", "conversations", "audit_events"):
        assert key in data

    document = await client.get(f"/api/v1/rights-requests/{body['id']}/export?format=document", headers=auth)
    assert document.status == 200 and document.content_type == "text/plain"
    text = await document.text()
    assert body["id"] in text and "Kari" in text and "Nordlys Strøm AS" in text and "100001" in text
    assert "Saker / Cases" in text

    reads = [e for e in await probe.audit_events() if e.action == "data_export.read"]
    assert [e.detail for e in reads] == [f"{body['id']}:json", f"{body['id']}:document"]


async def test_no_export_without_a_confirmed_identity(client, auth, probe):
    status, body = await log_request(client, auth, type="portability")
    assert status == 201 and body["has_export"] is False and body["effects"] == {}
    before = await probe.counts()
    response = await client.post(f"/api/v1/rights-requests/{body['id']}/export", headers=auth)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "identity_not_confirmed"
    assert (await client.get(f"/api/v1/rights-requests/{body['id']}/export", headers=auth)).status == 404
    counts = await probe.counts()
    assert counts["data_exports"] == before["data_exports"] == 0


async def test_an_export_can_be_produced_again(client, auth):
    await verify(client, auth, "web-conversation-1")
    _, body = await log_request(client, auth, type="portability", case_number="100001")
    response = await client.post(f"/api/v1/rights-requests/{body['id'].lower()}/export", headers=auth)
    assert response.status == 201
    async with client.app[CASE_SYSTEM].sessions() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(DataExport))).scalar_one() == 2


async def test_the_same_idempotency_key_logs_once(client, auth, probe):
    first_status, first = await log_request(client, auth, type="erasure", idempotency_key="turn-1")
    second_status, second = await log_request(client, auth, type="erasure", idempotency_key="turn-1")
    assert (first_status, second_status) == (201, 200)
    assert first["id"] == second["id"]
    assert (await probe.counts())["rights_requests"] == 1


@pytest.mark.parametrize(
    "received, due_date",
    [
        (datetime(2027, 1, 31, 11, 0, tzinfo=timezone.utc), "2027-02-28"),
        (datetime(2028, 1, 31, 11, 0, tzinfo=timezone.utc), "2028-02-29"),
        (datetime(2027, 1, 31, 23, 30, tzinfo=timezone.utc), "2027-03-01"),  # already 1 February in Oslo
    ],
)
async def test_the_due_date_is_one_calendar_month_later_across_month_ends(client, auth, clock, received, due_date):
    clock.now = received
    status, body = await log_request(client, auth, type="access")
    assert status == 201
    assert body["due_date"] == due_date
    assert datetime.fromisoformat(body["due_at"]) > received


async def test_the_list_shows_overdue_requests_as_such_and_filters(client, auth, clock):
    await verify(client, auth, "web-conversation-1")
    _, old = await log_request(client, auth, type="erasure", case_number="100001")
    clock.advance(days=40)
    _, new = await log_request(client, auth, type="objection", conversation_id="web-conversation-2")

    listed = await (await client.get("/api/v1/rights-requests", headers=auth)).json()
    by_id = {item["id"]: item for item in listed["rights_requests"]}
    assert by_id[old["id"]]["overdue"] is True and by_id[new["id"]]["overdue"] is False
    assert list(by_id) == [old["id"], new["id"]]  # earliest deadline first
    for field in ("id", "type", "received_at", "due_at", "status", "channel", "verified", "case_number"):
        assert field in by_id[old["id"]]

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/api/v1/rights-requests?{query}", headers=auth)
        assert response.status == 200
        return [item["id"] for item in (await response.json())["rights_requests"]]

    assert await ids("overdue=true") == [old["id"]]
    assert await ids("overdue=false") == [new["id"]]
    assert await ids("case_number=100001") == [old["id"]]
    assert await ids("status=received") == [old["id"], new["id"]]
    assert await ids("status=completed") == []
    for bad in ("status=done", "case_number=12", "overdue=maybe"):
        response = await client.get(f"/api/v1/rights-requests?{bad}", headers=auth)
        assert response.status == 422


async def test_reading_requests_is_audited_and_unknown_references_are_404(client, auth, probe):
    _, body = await log_request(client, auth, type="erasure")
    caseworker = {**auth, "X-Actor": "caseworker:anne", "X-Purpose": "rights_request_review"}
    await client.get("/api/v1/rights-requests", headers=caseworker)
    await client.get(f"/api/v1/rights-requests/{body['id']}", headers=caseworker)
    reads = [(e.action, e.actor, e.purpose) for e in await probe.audit_events() if e.actor == "caseworker:anne"]
    assert reads == [
        ("rights_request.list", "caseworker:anne", "rights_request_review"),
        ("rights_request.read", "caseworker:anne", "rights_request_review"),
    ]
    for reference in ("PV-000000", "nonsense"):
        response = await client.get(f"/api/v1/rights-requests/{reference}", headers=auth)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "rights_request_not_found"


async def test_rights_requests_require_the_api_key(client):
    assert (await client.get("/api/v1/rights-requests")).status == 401
    response = await client.post("/api/v1/rights-requests", json={"type": "access"})
    assert response.status == 401
