"""`POST /conversations/{conversation_id}/debtor-messages`: the dialogue server hands over each
debtor message that arrives while a caseworker has the conversation (the assistant is paused and
says nothing); it is kept on the handoff and shown in the console at once."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract import errors
from bot.case_system.contract.fields import CONVERSATION_ID
from bot.case_system.contract.requests import DebtorMessage
from bot.case_system.contract.responses import DebtorMessageRecorded
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, UNAUTHORIZED

CONVERSATION_PATH = {
    "conversation_id": {"type": "string", "pattern": f"^{CONVERSATION_ID.pattern}$", "example": "web-3f1c0d9e"}
}


async def record_debtor_message(call: Call) -> web.Response:
    conversation_id = call.path("conversation_id")
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise errors.ApiError(404, "handoff_not_found", "The conversation has no open or taken handoff.")
    context = call.audit_context()
    body = await call.body()
    handoff, message = await call.desk.record_debtor_message(
        call.session, conversation_id, body.text, body.at, now=call.now(), context=context
    )
    return call.respond(
        DebtorMessageRecorded(handoff_id=handoff.id, message=presenters.handoff_message(message)), status=201
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/conversations/{conversation_id}/debtor-messages",
        record_debtor_message,
        name="conversation_debtor_messages",
        operation_id="recordDebtorMessage",
        summary="A debtor's message to a conversation a caseworker has: kept on its taken (or open) handoff and shown "
        "in the console at once. Identity numbers are redacted.",
        description="Bearer token only (the dialogue server); no X-Actor needed.",
        path_parameters=CONVERSATION_PATH,
        body=DebtorMessage,
        answers={
            201: Answer(DebtorMessageRecorded, "Recorded."),
            **UNAUTHORIZED,
            **BAD_BODY,
            404: Answer(None, "The conversation has no open or taken handoff (`handoff_not_found`)."),
        },
    ),
]
