"""`GET /handoffs` (the caseworkers' queue) and `POST /handoffs` (hand a conversation over)."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import HandoffFilters, HandoffRequest
from bot.case_system.contract.responses import Handoff, HandoffList
from bot.case_system.domain import handoffs
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, BAD_HEADER, UNAUTHORIZED


async def list_handoffs(call: Call) -> web.Response:
    filters = call.query()
    context = call.audit_context()
    found = await handoffs.list_handoffs(call.session, status=filters.status, now=call.now(), context=context)
    return call.respond(HandoffList(handoffs=[presenters.handoff(handoff) for handoff in found]))


async def create_handoff(call: Call) -> web.Response:
    raw = await call.json_object()
    context = call.audit_context()
    body = call.parse_body(raw)
    call.log_case_number(body.case_number)
    handoff, created = await handoffs.hand_off(call.session, body, now=call.now(), context=context)
    return call.respond(presenters.handoff(handoff), status=201 if created else 200)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/handoffs",
        list_handoffs,
        name="handoffs",
        operation_id="listHandoffs",
        summary="Handoffs to caseworkers, oldest first (at most 500).",
        query=HandoffFilters,
        answers={
            200: Answer(HandoffList, "The handoffs."),
            **BAD_HEADER,
            **UNAUTHORIZED,
            422: Answer(None, "Unknown status filter (`validation_error`)."),
        },
    ),
    Endpoint(
        "POST",
        "/handoffs",
        create_handoff,
        name="handoffs",
        operation_id="createHandoff",
        summary="Hand a conversation to a caseworker; at most one open handoff per conversation.",
        body=HandoffRequest,
        answers={
            201: Answer(Handoff, "Created."),
            200: Answer(Handoff, "The conversation already had an open handoff; that one is returned."),
            **UNAUTHORIZED,
            **BAD_BODY,
        },
    ),
]
