"""`GET /health` (no token: for load balancers) and `GET /openapi.json` (this API, described)."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.responses import Health, InterestRateStatus, OpenApiDocument
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.openapi_document import API_DOCUMENT
from bot.case_system.http.routes.answers import UNAUTHORIZED
from bot.case_system.store.database import ping


async def health(call: Call) -> web.Response:
    system = call.system
    unsourced = list(system.rates.unsourced_periods(system.today()))
    database_ok = await ping(system.engine)
    body = Health(
        status="ok" if database_ok else "unavailable",
        database="ok" if database_ok else "unreachable",
        interest_rates=InterestRateStatus(status="provisional" if unsourced else "ok", unsourced_periods=unsourced),
    )
    return call.respond(body, status=200 if database_ok else 503)


async def openapi(call: Call) -> web.Response:
    return call.respond(OpenApiDocument(__root__=call.request.app[API_DOCUMENT]))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/health",
        health,
        name="health",
        operation_id="health",
        summary="Liveness, database reachability and whether interest rates are sourced up to today.",
        answers={200: Answer(Health, "The case system is up."), 503: Answer(Health, "The database is unreachable.")},
        public=True,
        audited=False,
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        openapi,
        name="openapi",
        operation_id="openapi",
        summary="This document, generated from the models that validate requests and serialise answers.",
        answers={200: Answer(OpenApiDocument, "OpenAPI 3.0 document."), **UNAUTHORIZED},
        audited=False,
    ),
]
