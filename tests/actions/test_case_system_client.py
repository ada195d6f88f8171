"""The one case-system client: reads are retried, writes never; failures become clear exceptions."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from actions.case_system_client import Caller, CaseSystemClient, CaseSystemRejected, CaseSystemUnavailable

CALLER = Caller(conversation_id="web-abc", channel="web", purpose="answer_balance")


def case_answer(case_number: str) -> dict:
    """A whole case as the case system answers it (the client parses it into the contract's Case)."""
    return {
        "case_number": case_number,
        "status": "open",
        "stage": "inkassovarsel",
        "creditor": {"name": "Nordlys Strøm AS", "org_number": "927183455"},
        "invoice": {
            "number": "NS-1",
            "date": "2026-07-16",
            "due_date": "2026-08-15",
            "amount": "10.00",
            "description": "",
        },
        "kid": "00010000106",
        "as_of": "2026-11-25",
        "lines": [
            {
                "type": "principal",
                "amount": "10.00",
                "description": "",
                "from_date": None,
                "to_date": None,
                "provisional": False,
            }
        ],
        "payments": [],
        "total_claimed": "10.00",
        "total_paid": "0.00",
        "balance": "10.00",
        "overpaid": "0.00",
        "provisional_interest": False,
        "disputed": False,
        "collection_stopped": False,
        "fees_over_cap": False,
        "fee_review_requested": False,
        "debtor": {"first_name": "Kari", "language": "nb"},
        "open_payment_plan": None,
        "notice_sent_on": None,
        "pay_by": {"date": None, "amount": "10.00", "basis": "none", "passed": False},
    }


@pytest.fixture
async def flaky_server():
    """A stand-in case system that fails a configurable number of times before answering."""
    state = {"failures_left": 0, "calls": 0, "headers": None, "off_contract": False}

    async def case(request: web.Request) -> web.Response:
        state["calls"] += 1
        state["headers"] = dict(request.headers)
        if state["failures_left"]:
            state["failures_left"] -= 1
            return web.json_response({"error": {"code": "internal_error"}}, status=503)
        if state["off_contract"]:
            return web.json_response({"case_number": request.match_info["number"], "balance": "10.00"})
        return web.json_response(case_answer(request.match_info["number"]))

    async def verification(request: web.Request) -> web.Response:
        state["calls"] += 1
        return web.json_response({"error": {"code": "internal_error"}}, status=503)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def rejected(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "validation_error", "field": "amount"}}, status=422)

    app = web.Application()
    app.router.add_get("/api/v1/cases/{number}", case)
    app.router.add_post("/api/v1/verifications", verification)
    app.router.add_get("/api/v1/health", slow)
    app.router.add_post("/api/v1/handoffs", rejected)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = CaseSystemClient(str(server.make_url("/api/v1")), "secret-key", timeout_seconds=0.5)
    yield client, state
    await client.close()
    await server.close()


async def test_a_read_is_retried_after_server_errors(flaky_server) -> None:
    client, state = flaky_server
    state["failures_left"] = 2
    case = await client.get_case("100001", caller=CALLER)
    assert case.balance == "10.00" and case.lines[0].type.value == "principal"
    assert state["calls"] == 3
    assert state["headers"]["Authorization"] == "Bearer secret-key"
    assert state["headers"]["X-Purpose"] == "answer_balance"
    assert state["headers"]["X-Conversation-Id"] == "web-abc"


async def test_a_read_that_keeps_failing_becomes_unavailable(flaky_server) -> None:
    client, state = flaky_server
    state["failures_left"] = 10
    with pytest.raises(CaseSystemUnavailable):
        await client.get_case("100001", caller=CALLER)
    assert state["calls"] == 3


async def test_an_answer_off_the_contract_is_a_failure_like_a_server_error(flaky_server) -> None:
    client, state = flaky_server
    state["off_contract"] = True  # a case without most of its fields
    with pytest.raises(CaseSystemUnavailable):
        await client.get_case("100001", caller=CALLER)
    assert state["calls"] == 3


async def test_a_write_is_never_retried(flaky_server) -> None:
    client, state = flaky_server
    with pytest.raises(CaseSystemUnavailable):
        await client.verify(case_number="100001", birth_date="1985-03-14", caller=CALLER)
    assert state["calls"] == 1  # a second verification attempt would count as a second failure


async def test_a_rejection_carries_the_machine_readable_code(flaky_server) -> None:
    client, _ = flaky_server
    with pytest.raises(CaseSystemRejected) as rejected:
        await client.create_handoff({"conversation_id": "x"}, caller=CALLER)
    assert (rejected.value.status, rejected.value.code) == (422, "validation_error")


async def test_a_slow_case_system_times_out(flaky_server) -> None:
    client, _ = flaky_server
    with pytest.raises(CaseSystemUnavailable):
        await client.health()


async def test_failures_are_logged_without_personal_data(flaky_server, caplog) -> None:
    client, state = flaky_server
    with caplog.at_level(logging.DEBUG, logger="actions.case_system_client"):
        with pytest.raises(CaseSystemUnavailable):
            await client.verify(case_number="100001", national_id="14838540024", caller=CALLER)
    assert "POST /verifications failed: HTTP 503" in caplog.text
    assert "14838540024" not in caplog.text
