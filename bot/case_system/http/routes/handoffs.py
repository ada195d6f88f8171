"""Handoffs: `GET /handoffs` (the caseworkers' queue) and `POST /handoffs` (hand a conversation
over), and a caseworker's work on one: read it with its messages, take it, reassign it (a
supervisor), write to the debtor, return it to the assistant, resolve it."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import (
    CaseworkerMessage,
    HandoffFilters,
    HandoffReassignment,
    HandoffRequest,
    HandoffResolution,
)
from bot.case_system.contract.responses import HandoffCreated, HandoffDetail, HandoffList, HandoffMessage
from bot.case_system.domain import handoffs
from bot.case_system.domain.handoff_desk import handoff_not_found
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, BAD_HEADER, UNAUTHORIZED

HANDOFF_PATH = {"handoff_id": {"type": "string", "pattern": "^[0-9]{1,18}$", "example": "42"}}
CASEWORKER_AUTH = (
    "For a caseworker: the bearer token with `X-Actor: caseworker:<username>` (an integration acting for an "
    "active caseworker), or the console's session cookie with its CSRF token in `X-CSRF-Token` on a POST."
)
CASEWORKER_REFUSALS = {
    401: Answer(None, "Neither the bearer token nor a console session (`unauthorized`)."),
    403: Answer(
        None,
        "X-Actor missing or not an active caseworker (`actor_required`, `unknown_caseworker`), or a console POST "
        "without the session's CSRF token (`csrf_failed`).",
    ),
    404: Answer(None, "No such handoff (`handoff_not_found`)."),
}
DIALOGUE_SERVER_DOWN = {
    502: Answer(None, "The dialogue server answered with an error (`dialogue_server_error`); nothing was changed."),
    503: Answer(
        None, "The dialogue server did not answer in time (`dialogue_server_unavailable`); nothing was changed."
    ),
}


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
    if created:
        await call.desk.announce_created(handoff, call.now())
    answer = presenters.created_handoff(handoff, call.desk.expected_answer_by(handoff.created_at))
    return call.respond(answer, status=201 if created else 200)


def _handoff_id(call: Call) -> int:
    raw = call.path("handoff_id")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise handoff_not_found()
    return int(raw)


async def _detail(call: Call, handoff_id: int) -> web.Response:
    handoff = await call.desk.load(call.session, handoff_id, with_messages=True)
    return call.respond(presenters.handoff_detail(handoff))


async def get_handoff(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    handoff = await call.desk.read(call.session, handoff_id, now=call.now(), context=context)
    return call.respond(presenters.handoff_detail(handoff))


async def take_handoff(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    await call.desk.take(call.session, handoff_id, call.caseworker, now=call.now(), context=context)
    return await _detail(call, handoff_id)


async def reassign_handoff(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    body = call.parse_body(await call.json_object()) if call.request.can_read_body else HandoffReassignment()
    await call.desk.reassign(call.session, handoff_id, call.caseworker, body.to, now=call.now(), context=context)
    return await _detail(call, handoff_id)


async def post_message(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    body = await call.body()
    message = await call.desk.send_message(
        call.session, handoff_id, call.caseworker, body.text, now=call.now(), context=context
    )
    return call.respond(presenters.handoff_message(message), status=201)


async def return_handoff(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    await call.desk.return_to_assistant(call.session, handoff_id, call.caseworker, now=call.now(), context=context)
    return await _detail(call, handoff_id)


async def resolve_handoff(call: Call) -> web.Response:
    handoff_id = _handoff_id(call)
    context = call.audit_context()
    body = await call.body()
    await call.desk.resolve(
        call.session, handoff_id, call.caseworker, body.outcome, body.note, now=call.now(), context=context
    )
    return await _detail(call, handoff_id)


def _state_conflict(what: str) -> dict[int, Answer]:
    return {409: Answer(None, what)}


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
            201: Answer(HandoffCreated, "Created."),
            200: Answer(HandoffCreated, "The conversation already had an open handoff; that one is returned."),
            **UNAUTHORIZED,
            **BAD_BODY,
        },
    ),
    Endpoint(
        "GET",
        "/handoffs/{handoff_id}",
        get_handoff,
        name="handoff",
        operation_id="getHandoff",
        summary="One handoff, who has it, and the messages since it was made (debtor, caseworker, assistant).",
        description=CASEWORKER_AUTH + " The read is audited with the caseworker's identity.",
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        answers={200: Answer(HandoffDetail, "The handoff."), **BAD_HEADER, **CASEWORKER_REFUSALS},
    ),
    Endpoint(
        "POST",
        "/handoffs/{handoff_id}/take",
        take_handoff,
        name="handoff_take",
        operation_id="takeHandoff",
        summary="Take an open handoff: the assistant falls silent in the conversation. Of several at once, one wins.",
        description=CASEWORKER_AUTH,
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        answers={
            200: Answer(HandoffDetail, "Taken by this caseworker."),
            **BAD_HEADER,
            **CASEWORKER_REFUSALS,
            **_state_conflict(
                "Not open: taken by someone (perhaps at the same moment), returned or resolved (`handoff_not_open`)."
            ),
            **DIALOGUE_SERVER_DOWN,
        },
    ),
    Endpoint(
        "POST",
        "/handoffs/{handoff_id}/reassign",
        reassign_handoff,
        name="handoff_reassign",
        operation_id="reassignHandoff",
        summary="A supervisor gives an open or taken handoff to a caseworker (the supervisor, without `to`).",
        description=CASEWORKER_AUTH + " Supervisors only (403 `supervisors_only`). The body is optional.",
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        body=HandoffReassignment,
        answers={
            200: Answer(HandoffDetail, "Reassigned."),
            **BAD_BODY,
            **CASEWORKER_REFUSALS,
            **_state_conflict("The handoff was returned or resolved (`handoff_not_active`)."),
            **DIALOGUE_SERVER_DOWN,
        },
    ),
    Endpoint(
        "POST",
        "/handoffs/{handoff_id}/messages",
        post_message,
        name="handoff_messages",
        operation_id="sendCaseworkerMessage",
        summary="Write to the debtor on the conversation's channel: the web chat at once, SMS through the outbox "
        "(GSM-7 safe, never to an opted-out number).",
        description=CASEWORKER_AUTH,
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        body=CaseworkerMessage,
        answers={
            201: Answer(HandoffMessage, "Delivered to the web chat, or queued as an SMS."),
            **BAD_BODY,
            **CASEWORKER_REFUSALS,
            **_state_conflict(
                "Not taken (`handoff_not_taken`), taken by another caseworker (`handoff_taken_by_another`), a phone "
                "call (`phone_handoff`), or an SMS conversation without a recorded number (`sms_number_unknown`)."
            ),
            **DIALOGUE_SERVER_DOWN,
        },
    ),
    Endpoint(
        "POST",
        "/handoffs/{handoff_id}/return",
        return_handoff,
        name="handoff_return",
        operation_id="returnHandoff",
        summary="Hand the conversation back to the assistant, which tells the debtor and answers their next message.",
        description=CASEWORKER_AUTH + " The caseworker who has it, or a supervisor.",
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        answers={
            200: Answer(HandoffDetail, "Returned."),
            **BAD_HEADER,
            **CASEWORKER_REFUSALS,
            **_state_conflict(
                "Not taken (`handoff_not_taken`) or taken by another caseworker (`handoff_taken_by_another`)."
            ),
            **DIALOGUE_SERVER_DOWN,
        },
    ),
    Endpoint(
        "POST",
        "/handoffs/{handoff_id}/resolve",
        resolve_handoff,
        name="handoff_resolve",
        operation_id="resolveHandoff",
        summary="Finish a handoff with an outcome and a note; the assistant answers the debtor again.",
        description=CASEWORKER_AUTH + " An open handoff, or a taken one by whoever has it or a supervisor.",
        caseworker=True,
        path_parameters=HANDOFF_PATH,
        body=HandoffResolution,
        answers={
            200: Answer(HandoffDetail, "Resolved."),
            **BAD_BODY,
            **CASEWORKER_REFUSALS,
            **_state_conflict(
                "Returned or resolved already (`handoff_not_active`), or taken by another caseworker "
                "(`handoff_taken_by_another`)."
            ),
            **DIALOGUE_SERVER_DOWN,
        },
    ),
]
