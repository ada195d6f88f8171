"""`GET /api/v1/openapi.json` is a valid OpenAPI document, generated from the contract's models,
and the API's real answers match it: every GET route and the main POST routes, on the demo data,
each answer checked against the schema the document gives for its route, method and status.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Optional

import pytest
import sqlalchemy as sa
from jsonschema import RefResolver
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate_spec

from bot.case_system.contract.enums import OutboundStatus
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import Case, ClaimLineRecord, OutboundMessage
from tests.bot.case_system.conftest import AUTH, CONVERSATION_KEY, acting_for, add_caseworker

API = "/api/v1"
WEB = {"channel": "web", "conversation_id": "web-openapi-1"}
KARI = {"case_number": "100001", "birth_date": "1985-03-14", **WEB}
SMS_SID = "SM" + "a" * 32


async def document(client, auth) -> dict[str, Any]:
    response = await client.get(f"{API}/openapi.json", headers=auth)
    assert response.status == 200
    return await response.json()


async def test_the_document_is_a_valid_openapi_3_0_document(client, auth):
    spec = await document(client, auth)
    validate_spec(spec)  # raises on any breach of the OpenAPI 3.0 schema, dangling $ref included
    assert spec["openapi"] == "3.0.3"


async def test_enums_and_money_are_described_once_from_the_contract(client, auth):
    schemas = (await document(client, auth))["components"]["schemas"]
    assert schemas["Channel"]["enum"] == ["web", "sms", "voice", "rest", "backoffice"]
    assert schemas["RightsRequestType"]["enum"] == [
        "access",
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "portability",
        "human_review",
    ]
    assert schemas["Case"]["properties"]["balance"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    # Requests take only the channels a debtor talks on.
    assert schemas["HandoffRequest"]["properties"]["channel"]["enum"] == ["web", "sms", "voice", "rest"]
    assert schemas["Case"]["properties"]["open_payment_plan"]["anyOf"][0] == {
        "$ref": "#/components/schemas/PaymentPlan"
    }


class Checker:
    """Checks answers against the document and remembers which operations it has seen."""

    def __init__(self, client, auth, spec: dict[str, Any]) -> None:
        self.client, self.auth, self.spec = client, auth, spec
        self.resolver = RefResolver.from_schema(spec)
        self.seen: set[tuple[str, str, int]] = set()

    async def call(
        self,
        method: str,
        template: str,
        *,
        path: Optional[dict[str, str]] = None,
        body: Any = None,
        params: Optional[dict[str, str]] = None,
        expect: int = 200,
        headers: Optional[dict[str, str]] = None,
    ) -> Any:
        url = API + template.format(**(path or {}))
        response = await self.client.request(
            method, url, json=body, params=params, headers=self.auth if headers is None else headers
        )
        assert response.status == expect, (method, url, response.status, await response.text())
        content_type = response.content_type
        answer = await response.json() if content_type == "application/json" else await response.text()
        self.check(method, template, expect, answer, content_type)
        return answer

    def check(self, method: str, template: str, status: int, answer: Any, content_type: str) -> None:
        operation = self.spec["paths"][API + template][method.lower()]
        schema = operation["responses"][str(status)]["content"][content_type]["schema"]
        validator = OAS30Validator(schema, resolver=self.resolver, format_checker=oas30_format_checker)
        problems = sorted(
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(answer)
        )
        assert not problems, f"{method} {template} {status} does not match its schema:\n" + "\n".join(problems)
        self.seen.add((method.upper(), API + template, status))


@pytest.fixture
async def checker(client, auth) -> Checker:
    return Checker(client, auth, await document(client, auth))


async def over_the_cap(client, case_number: str) -> None:
    """A collection-notice fee above its legal cap on `case_number`, for a fee review."""
    async with client.app[CASE_SYSTEM].sessions() as session:
        case_id = (await session.execute(sa.select(Case.id).where(Case.case_number == case_number))).scalar_one()
        session.add(
            ClaimLineRecord(
                case_id=case_id,
                type="collection_notice_fee",
                amount=Decimal("150.00"),
                description="Varsel",
                charged_on=date(2026, 11, 1),
            )
        )
        await session.commit()


async def sent_by_the_provider(client, message_id: int) -> None:
    async with client.app[CASE_SYSTEM].sessions() as session:
        message = await session.get(OutboundMessage, message_id)
        message.status, message.provider_id = OutboundStatus.SENT, SMS_SID
        await session.commit()


async def test_real_answers_match_their_schemas(client, checker):
    call = checker.call
    await call("GET", "/health")
    await call("GET", "/openapi.json")

    # Verification: verified, refused, and locked (with its time) after repeated failures.
    await call("POST", "/verifications", body=KARI)
    await call("POST", "/verifications", body={**KARI, "birth_date": "1985-03-15"})
    wrong = {"case_number": "100004", "birth_date": "1990-01-01", **WEB}
    for _ in range(2):
        await call("POST", "/verifications", body=wrong)
    locked = await call("POST", "/verifications", body=wrong)
    assert locked["outcome"] == "locked" and locked["locked_until"]

    # Every demo case: open, part-paid, legal collection, closed.
    for number in ("100001", "100002", "100003", "100004", "100005", "100006"):
        await call("GET", "/cases/{case_number}", path={"case_number": number})

    # Plans: a quote outside the policy (with its alternative), one inside, creation and a repeat.
    case = {"case_number": "100003"}
    outside = await call(
        "POST", "/cases/{case_number}/payment-plans/quote", path=case, body={"monthly_amount": "10.00"}
    )
    assert outside["quote"]["alternative"] is not None
    await call("POST", "/cases/{case_number}/payment-plans/quote", path=case, body={"months": 6})
    terms = {"months": 6, "accepted": True, **WEB}
    await call("POST", "/cases/{case_number}/payment-plans", path=case, body=terms, expect=201)
    await call("POST", "/cases/{case_number}/payment-plans", path=case, body=terms, expect=200)
    await call("GET", "/cases/{case_number}/payment-plans", path=case)
    with_plan = await call("GET", "/cases/{case_number}", path=case)
    assert with_plan["open_payment_plan"] is not None

    # A postponement, a dispute (and the same again), a fee review of a fee above its cap.
    await call(
        "POST",
        "/cases/{case_number}/postponements",
        path={"case_number": "100001"},
        body={"new_due_date": "2026-12-07", **WEB},
        expect=201,
    )
    await call(
        "POST",
        "/cases/{case_number}/disputes",
        path={"case_number": "100002"},
        body={"reason": "Jeg har aldri vært medlem.", **WEB},
        expect=201,
    )
    await call("POST", "/cases/{case_number}/disputes", path={"case_number": "100002"}, body=WEB, expect=200)
    await over_the_cap(client, "100004")
    await call("POST", "/cases/{case_number}/fee-reviews", path={"case_number": "100004"}, body=WEB, expect=201)

    # Handoffs.
    handoff = {
        "reason": "requested",
        "priority": "high",
        "case_number": "100001",
        "summary": "Ønsker å snakke med noen.",
        "transcript": [{"sender": "user", "text": "Kan jeg snakke med et menneske?", "at": "2026-11-25T09:00:00Z"}],
        **WEB,
    }
    created = await call("POST", "/handoffs", body=handoff, expect=201)
    await call("POST", "/handoffs", body=handoff, expect=200)
    await call("GET", "/handoffs")
    await call("GET", "/handoffs", params={"status": "open"})
    await add_caseworker(client, "anne")
    await call("GET", "/handoffs/{handoff_id}", path={"handoff_id": str(created["id"])}, headers=acting_for("anne"))

    # Rights requests: verified access (with an export), unverified objection, human review.
    access = await call("POST", "/rights-requests", body={"type": "access", "case_number": "100001", **WEB}, expect=201)
    assert access["effects"]["export_id"]
    await call(
        "POST",
        "/rights-requests",
        body={"type": "objection", "idempotency_key": "k-1", **WEB, "conversation_id": "web-openapi-2"},
        expect=201,
    )
    await call(
        "POST",
        "/rights-requests",
        body={"type": "objection", "idempotency_key": "k-1", **WEB, "conversation_id": "web-openapi-2"},
        expect=200,
    )
    await call(
        "POST",
        "/rights-requests",
        body={"type": "human_review", "transcript": handoff["transcript"], **WEB, "conversation_id": "web-openapi-3"},
        expect=201,
    )
    await call("GET", "/rights-requests")
    await call("GET", "/rights-requests", params={"case_number": "100001", "overdue": "false"})
    reference = {"reference": access["id"]}
    await call("GET", "/rights-requests/{reference}", path=reference)
    await call("POST", "/rights-requests/{reference}/export", path=reference, expect=201)
    await call("GET", "/rights-requests/{reference}/export", path=reference)
    document_text = await call(
        "GET", "/rights-requests/{reference}/export", path=reference, params={"format": "document"}
    )
    assert document_text.startswith("Innsyn i personopplysninger")

    # The SMS channel's calls: inbound (new, then STOP), the outbox, a delivery report.
    inbound = {"message_sid": SMS_SID.replace("a", "b"), "from_phone": "+4791234567", "body": "Hei"}
    await call("POST", "/sms/inbound", body=inbound)
    await call("POST", "/sms/inbound", body={**inbound, "message_sid": SMS_SID.replace("a", "c"), "body": "STOPP"})
    queued = await call(
        "POST",
        "/sms/outbox",
        body={"to_phone": "+4798765432", "body": "Hei", "purpose": "conversation_reply"},
        expect=201,
    )
    await sent_by_the_provider(client, queued["id"])
    await call("POST", "/sms/status", body={"provider_id": SMS_SID, "status": "undelivered", "error_code": "30003"})

    # Error bodies are documented too.
    await call("GET", "/cases/{case_number}", path={"case_number": "999999"}, expect=404)
    await call("POST", "/handoffs", body={**handoff, "channel": "fax"}, expect=422)
    await call(
        "POST",
        "/cases/{case_number}/postponements",
        path={"case_number": "100001"},
        body={"new_due_date": "2027-06-01", **WEB},
        expect=409,
    )

    every_get = {
        (method, path)
        for path, item in checker.spec["paths"].items()
        for method in (name.upper() for name in item)
        if method == "GET"
    }
    assert every_get <= {(method, path) for method, path, _ in checker.seen}


async def test_caseworker_answers_match_their_schemas(desk_client):
    from bot.channels.conversation_ids import sms_conversation_id

    checker = Checker(desk_client, AUTH, await document(desk_client, AUTH))
    call = checker.call
    await add_caseworker(desk_client, "anne")
    await add_caseworker(desk_client, "sara", role="supervisor")
    anne, sara = acting_for("anne"), acting_for("sara")
    phone = "+4791234567"
    sms_cid = sms_conversation_id(CONVERSATION_KEY, phone)
    await call(
        "POST",
        "/sms/inbound",
        body={"message_sid": SMS_SID, "from_phone": phone, "body": "Hei"},
        headers={**AUTH, "X-Conversation-Id": sms_cid},
    )
    web = await call("POST", "/handoffs", body={"reason": "requested", **WEB}, expect=201)
    sms = await call(
        "POST", "/handoffs", body={"reason": "requested", "channel": "sms", "conversation_id": sms_cid}, expect=201
    )
    web_id, sms_id = {"handoff_id": str(web["id"])}, {"handoff_id": str(sms["id"])}

    await call("POST", "/handoffs/{handoff_id}/take", path=web_id, headers=anne)
    await call("POST", "/handoffs/{handoff_id}/take", path=web_id, headers=sara, expect=409)
    await call("POST", "/handoffs/{handoff_id}/messages", path=web_id, body={"text": "Hei"}, headers=anne, expect=201)
    await call(
        "POST",
        "/conversations/{conversation_id}/debtor-messages",
        path={"conversation_id": WEB["conversation_id"]},
        body={"text": "Hei", "at": "2026-11-25T09:31:00Z"},
        expect=201,
    )
    await call(
        "POST",
        "/conversations/{conversation_id}/debtor-messages",
        path={"conversation_id": "web-none"},
        body={"text": "Hei", "at": "2026-11-25T09:31:00Z"},
        expect=404,
    )
    await call("GET", "/handoffs/{handoff_id}", path=web_id, headers=anne)
    await call("GET", "/handoffs/{handoff_id}", path={"handoff_id": "999999"}, headers=anne, expect=404)
    await call("GET", "/handoffs/{handoff_id}", path=web_id, headers={}, expect=401)
    await call("GET", "/handoffs/{handoff_id}", path=web_id, expect=403)
    await call("POST", "/handoffs/{handoff_id}/reassign", path=web_id, body={"to": "sara"}, headers=anne, expect=403)
    await call("POST", "/handoffs/{handoff_id}/reassign", path=web_id, body={"to": "anne"}, headers=sara)
    await call("POST", "/handoffs/{handoff_id}/return", path=web_id, headers=anne)
    await call("POST", "/handoffs/{handoff_id}/return", path=web_id, headers=anne, expect=409)

    await call("POST", "/handoffs/{handoff_id}/take", path=sms_id, headers=anne)
    await call(
        "POST", "/handoffs/{handoff_id}/messages", path=sms_id, body={"text": "x" * 1601}, headers=anne, expect=422
    )
    await call("POST", "/handoffs/{handoff_id}/messages", path=sms_id, body={"text": "Hei"}, headers=anne, expect=201)
    await call(
        "POST", "/handoffs/{handoff_id}/resolve", path=sms_id, body={"outcome": "paid", "note": "Betalt."}, headers=anne
    )

    # Rights decisions (GDPR Art. 12(3), 12(4)) and a payment's receipt (issue 20).
    rights = await call("POST", "/rights-requests", body={"type": "erasure", **WEB}, expect=201)
    reference = {"reference": rights["id"]}
    extension = {"months": 1, "reason": "Mange henvendelser."}
    await call("POST", "/rights-requests/{reference}/extension", path=reference, body=extension, headers=anne)
    await call(
        "POST", "/rights-requests/{reference}/extension", path=reference, body=extension, headers=anne, expect=409
    )
    refusal = {"reason": "Kravet er ikke avsluttet."}
    await call("POST", "/rights-requests/{reference}/refusal", path=reference, body=refusal, headers=anne)
    await call("POST", "/rights-requests/{reference}/refusal", path=reference, body=refusal, headers=anne, expect=409)
    payment = {"paid_on": "2026-11-25", "amount": "100.00"}
    await call("POST", "/cases/{case_number}/payments", path={"case_number": "100001"}, body=payment, expect=201)

    web_again = await call("POST", "/handoffs", body={"reason": "requested", **WEB}, expect=201)
    await desk_client.app[CASE_SYSTEM].desk.relay.close()
    desk_client.app[CASE_SYSTEM].desk.relay.base_url = "http://127.0.0.1:9"  # nothing listens there
    await call(
        "POST", "/handoffs/{handoff_id}/take", path={"handoff_id": str(web_again["id"])}, headers=anne, expect=503
    )

    caseworker_routes = {
        (method.upper(), path)
        for path, item in checker.spec["paths"].items()
        for method, operation in item.items()
        if "X-Actor" in operation.get("description", "") or "debtor-messages" in path
    }
    assert caseworker_routes <= {(method, path) for method, path, _ in checker.seen}


async def test_caseworker_routes_document_both_ways_in(client, auth):
    spec = await document(client, auth)
    take = spec["paths"]["/api/v1/handoffs/{handoff_id}/take"]["post"]
    assert take["security"] == [{"bearerAuth": []}, {"consoleSession": []}]
    assert {parameter["name"] for parameter in take["parameters"]} >= {"X-Actor", "X-CSRF-Token", "handoff_id"}
    assert spec["components"]["securitySchemes"]["consoleSession"]["in"] == "cookie"
    debtor = spec["paths"]["/api/v1/conversations/{conversation_id}/debtor-messages"]["post"]
    assert "security" not in debtor  # the bearer key, as everywhere
