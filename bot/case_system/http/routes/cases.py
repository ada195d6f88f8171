"""`GET /cases/{case_number}` and `POST /cases/{case_number}/fee-reviews`."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import FeeReviewRequest
from bot.case_system.contract.responses import Case, FeeReview
from bot.case_system.domain import case_service
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, BAD_HEADER, CASE_PATH, NO_CASE, UNAUTHORIZED


async def get_case(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    figures = await case_service.read_case(
        call.session, case_number, now=call.now(), rates=call.system.rates, context=context
    )
    return call.respond(presenters.case(figures))


async def create_fee_review(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    body = await call.body()
    review = await case_service.request_fee_review(
        call.session,
        case_number,
        channel=body.channel,
        conversation_id=body.conversation_id,
        now=call.now(),
        rates=call.system.rates,
        context=context,
    )
    return call.respond(presenters.fee_review(review), status=201 if review.created else 200)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/cases/{case_number}",
        get_case,
        name="case",
        operation_id="getCase",
        summary="A case with its claim computed today: principal, interest, fees, payments and balance.",
        path_parameters=CASE_PATH,
        answers={200: Answer(Case, "The case."), **BAD_HEADER, **UNAUTHORIZED, **NO_CASE},
    ),
    Endpoint(
        "POST",
        "/cases/{case_number}/fee-reviews",
        create_fee_review,
        name="fee_reviews",
        operation_id="createFeeReview",
        summary="Flag a case whose fee is above its legal cap for review by a caseworker.",
        path_parameters=CASE_PATH,
        body=FeeReviewRequest,
        answers={
            201: Answer(FeeReview, "Flagged."),
            200: Answer(FeeReview, "Already flagged."),
            **UNAUTHORIZED,
            **BAD_BODY,
            **NO_CASE,
            409: Answer(None, "No fee is above its cap (`no_fee_over_cap`)."),
        },
    ),
]
