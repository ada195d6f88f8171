"""The SMS channel's calls: inbound deduplication and consent, the outbox, delivery reports.

The dialogue server's SMS channel calls these; the backoffice's delivery loop (bot/outbound_sms.py)
sends what is enqueued, woken at once through `OUTBOX_SIGNAL` when it runs.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.case_system.contract.requests import DeliveryStatusRequest, InboundSmsRequest, OutboxRequest
from bot.case_system.contract.responses import InboundSmsResult, OutboundMessageState
from bot.case_system.domain import sms
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, UNAUTHORIZED

# Set by the backoffice when it runs the delivery loop: enqueuing wakes it at once.
OUTBOX_SIGNAL = web.AppKey("outbox_signal", asyncio.Event)


async def record_inbound(call: Call) -> web.Response:
    body = await call.body()
    context = call.audit_context()
    outcome = await sms.record_inbound(
        call.session, body, now=call.now(), context=context, conversation_key=call.system.settings.conversation_id_key
    )
    return call.respond(
        InboundSmsResult(duplicate=outcome.duplicate, consent=outcome.consent, opted_out=outcome.opted_out)
    )


async def enqueue(call: Call) -> web.Response:
    body = await call.body()
    context = call.audit_context()
    message = await sms.enqueue(call.session, body, now=call.now(), context=context)
    signal = call.request.app.get(OUTBOX_SIGNAL)
    if signal is not None:
        signal.set()
    return call.respond(OutboundMessageState(id=message.id, status=message.status), status=201)


async def record_status(call: Call) -> web.Response:
    body = await call.body()
    context = call.audit_context()
    message = await sms.record_delivery_status(call.session, body, now=call.now(), context=context)
    return call.respond(OutboundMessageState(id=message.id, status=message.status))


ENDPOINTS = [
    Endpoint(
        "POST",
        "/sms/inbound",
        record_inbound,
        name="sms_inbound",
        operation_id="recordInboundSms",
        summary="Record an inbound SMS once (retries are duplicates) and apply STOP/STOPP/AVSLUTT/START.",
        body=InboundSmsRequest,
        answers={200: Answer(InboundSmsResult, "What the channel should do."), **UNAUTHORIZED, **BAD_BODY},
    ),
    Endpoint(
        "POST",
        "/sms/outbox",
        enqueue,
        name="sms_outbox",
        operation_id="enqueueSms",
        summary="Queue an SMS for delivery; stored as suppressed when the number has opted out.",
        body=OutboxRequest,
        answers={201: Answer(OutboundMessageState, "Queued."), **UNAUTHORIZED, **BAD_BODY},
    ),
    Endpoint(
        "POST",
        "/sms/status",
        record_status,
        name="sms_status",
        operation_id="recordSmsStatus",
        summary="The provider's delivery report for a sent message; failures are recorded.",
        body=DeliveryStatusRequest,
        answers={
            200: Answer(OutboundMessageState, "Recorded."),
            **UNAUTHORIZED,
            **BAD_BODY,
            404: Answer(None, "No message has that provider id (`message_not_found`)."),
        },
    ),
]
