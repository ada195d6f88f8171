"""`POST /cases/{case_number}/payments`: register a payment received; the debtor gets a receipt."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import PaymentRegistration
from bot.case_system.contract.responses import PaymentRegistered
from bot.case_system.domain import payment_service
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, CASE_PATH, NO_CASE, UNAUTHORIZED
from bot.case_system.http.routes.sms import OUTBOX_SIGNAL


async def register_payment(call: Call) -> web.Response:
    case_number = call.case_number()
    body = call.parse_body(await call.json_object())
    registered = await payment_service.register_payment(
        call.session,
        case_number,
        body,
        now=call.now(),
        settings=call.system.settings,
        rates=call.system.rates,
        context=call.audit_context(),
    )
    signal = call.request.app.get(OUTBOX_SIGNAL)
    if signal is not None and registered.receipt is not None:
        signal.set()  # the delivery loop sends it now if the contact window is open
    answer = PaymentRegistered(
        id=registered.payment.id,
        case_number=case_number,
        paid_on=registered.payment.paid_on,
        amount=registered.payment.amount,
        balance=registered.balance,
        receipt=registered.receipt.value if registered.receipt else None,
    )
    return call.respond(answer, status=201 if registered.created else 200)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/cases/{case_number}/payments",
        register_payment,
        name="payments",
        operation_id="registerPayment",
        summary="Register a payment received: an active payment plan counts it, and the debtor gets an SMS "
        "receipt inside the contact window (never twice; none to a number that opted out).",
        path_parameters=CASE_PATH,
        body=PaymentRegistration,
        answers={
            201: Answer(PaymentRegistered, "Registered."),
            200: Answer(PaymentRegistered, "Registered before with this idempotency key."),
            **UNAUTHORIZED,
            **BAD_BODY,
            **NO_CASE,
            409: Answer(None, "A concurrent registration with the same idempotency key won (`conflict`)."),
        },
    ),
]
