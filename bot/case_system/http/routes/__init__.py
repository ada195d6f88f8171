"""The API's routes: one module per resource, gathered into the one table the app registers and
the OpenAPI document describes."""

from bot.case_system.http.routes import (
    cases,
    conversations,
    disputes,
    handoffs,
    health,
    payment_plans,
    payments,
    postponements,
    rights_requests,
    sms,
    verifications,
)

ENDPOINTS = [
    *health.ENDPOINTS,
    *verifications.ENDPOINTS,
    *cases.ENDPOINTS,
    *payment_plans.ENDPOINTS,
    *payments.ENDPOINTS,
    *postponements.ENDPOINTS,
    *disputes.ENDPOINTS,
    *handoffs.ENDPOINTS,
    *conversations.ENDPOINTS,
    *rights_requests.ENDPOINTS,
    *sms.ENDPOINTS,
]
