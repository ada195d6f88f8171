"""`POST /cases/{case_number}/disputes`: an objection; collection on the case stops at once."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import DisputeRequest
from bot.case_system.contract.responses import Dispute
from bot.case_system.domain import disputes
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, CASE_PATH, NO_CASE, UNAUTHORIZED


async def create_dispute(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    body = await call.body()
    recorded = await disputes.record_dispute(
        call.session,
        case_number,
        body.reason,
        channel=body.channel,
        conversation_id=body.conversation_id,
        now=call.now(),
        context=context,
    )
    return call.respond(presenters.dispute(recorded.dispute, recorded.case), status=201 if recorded.created else 200)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/cases/{case_number}/disputes",
        create_dispute,
        name="disputes",
        operation_id="createDispute",
        summary="Record an objection: the case becomes disputed and collection stops. One open dispute per case.",
        path_parameters=CASE_PATH,
        body=DisputeRequest,
        answers={
            201: Answer(Dispute, "Recorded."),
            200: Answer(Dispute, "The case already had an open dispute; that one is returned."),
            **UNAUTHORIZED,
            **BAD_BODY,
            **NO_CASE,
            409: Answer(None, "The case is closed (`case_closed`)."),
        },
    ),
]
