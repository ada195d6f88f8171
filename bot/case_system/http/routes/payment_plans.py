"""Payment plans of a case: quote, create on the debtor's acceptance, list."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.requests import PlanCreateRequest, PlanProposal
from bot.case_system.contract.responses import PaymentPlanList, PlanCreated, PlanQuoteAnswer
from bot.case_system.domain import payment_plan_service, payment_plans
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, BAD_HEADER, CASE_PATH, CASE_STATE, NO_CASE, UNAUTHORIZED


def _proposal(body: PlanProposal) -> payment_plans.PlanProposal:
    return payment_plans.PlanProposal(
        monthly_amount=body.monthly_amount, months=body.months, first_due_date=body.first_due_date
    )


async def quote_payment_plan(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()  # a malformed header is refused before anything else
    body = await call.body()
    answer = await payment_plan_service.quote_payment_plan(
        call.session,
        case_number,
        _proposal(body),
        now=call.now(),
        settings=call.system.settings,
        rates=call.system.rates,
        context=context,
    )
    return call.respond(
        PlanQuoteAnswer(
            case_number=case_number,
            quote=presenters.plan_quote(answer.quote),
            policy=presenters.plan_policy(answer.policy, answer.today),
        )
    )


async def create_payment_plan(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    body = await call.body()
    made = await payment_plan_service.create_payment_plan(
        call.session,
        case_number,
        _proposal(body),
        channel=body.channel,
        conversation_id=body.conversation_id,
        language=body.language,
        now=call.now(),
        settings=call.system.settings,
        rates=call.system.rates,
        context=context,
    )
    answer = presenters.created_plan(made.plan, case_number=case_number, confirmation=made.confirmation)
    return call.respond(answer, status=201 if made.created else 200)


async def list_payment_plans(call: Call) -> web.Response:
    case_number = call.case_number()
    context = call.audit_context()
    plans = await payment_plan_service.list_payment_plans(call.session, case_number, now=call.now(), context=context)
    return call.respond(
        PaymentPlanList(case_number=case_number, payment_plans=[presenters.payment_plan(plan) for plan in plans])
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/cases/{case_number}/payment-plans/quote",
        quote_payment_plan,
        name="payment_plan_quote",
        operation_id="quotePaymentPlan",
        summary="Terms for a plan under the creditor's policy; outside it, the problems and the nearest acceptable "
        "alternative. Writes nothing but an audit event.",
        path_parameters=CASE_PATH,
        body=PlanProposal,
        answers={200: Answer(PlanQuoteAnswer, "The quote."), **UNAUTHORIZED, **BAD_BODY, **NO_CASE, 409: CASE_STATE},
    ),
    Endpoint(
        "POST",
        "/cases/{case_number}/payment-plans",
        create_payment_plan,
        name="payment_plans",
        operation_id="createPaymentPlan",
        summary="Create the quoted plan on the debtor's acceptance, and queue an SMS confirmation to the number on "
        "file in the same transaction. Idempotent per conversation, case and terms.",
        path_parameters=CASE_PATH,
        body=PlanCreateRequest,
        answers={
            201: Answer(PlanCreated, "Created."),
            200: Answer(PlanCreated, "The same request was made before; that plan is returned."),
            **UNAUTHORIZED,
            **BAD_BODY,
            **NO_CASE,
            409: CASE_STATE,
        },
    ),
    Endpoint(
        "GET",
        "/cases/{case_number}/payment-plans",
        list_payment_plans,
        name="payment_plans",
        operation_id="listPaymentPlans",
        summary="The case's payment plans with their installments.",
        path_parameters=CASE_PATH,
        answers={200: Answer(PaymentPlanList, "The plans."), **BAD_HEADER, **UNAUTHORIZED, **NO_CASE},
    ),
]
