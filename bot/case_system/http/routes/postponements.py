"""`POST /cases/{case_number}/postponements`: a later payment deadline, once per case."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import PostponementRequest
from bot.case_system.contract.responses import Postponement
from bot.case_system.domain import postponement_service
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, CASE_PATH, NO_CASE, UNAUTHORIZED


async def create_postponement(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    body = await call.body()
    granted = await postponement_service.grant_postponement(
        call.session,
        case_number,
        body.new_due_date,
        channel=body.channel,
        conversation_id=body.conversation_id,
        now=call.now(),
        settings=call.system.settings,
        context=context,
    )
    answer = presenters.postponement(granted.postponement, granted.case_number)
    return call.respond(answer, status=201 if granted.created else 200)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/cases/{case_number}/postponements",
        create_postponement,
        name="postponements",
        operation_id="createPostponement",
        summary="Postpone the payment deadline once per case, up to the policy's number of days; the date is "
        "moved to a bank day.",
        path_parameters=CASE_PATH,
        body=PostponementRequest,
        answers={
            201: Answer(Postponement, "Granted."),
            200: Answer(Postponement, "The same request was granted before."),
            **UNAUTHORIZED,
            **BAD_BODY,
            **NO_CASE,
            409: Answer(
                None,
                "Not for the assistant to grant (`postponement_too_long`, `postponement_already_postponed`, with "
                "`latest_date` and `max_days`), or the case's state (`case_closed`, `case_disputed`, "
                "`active_plan_exists`).",
            ),
        },
    ),
]
