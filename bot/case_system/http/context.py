"""What a handler works with: the app's shared state (`CaseSystem`) and one request's context
(`Call`): its database session, clock, audit context, parsed input and typed answer.

A handler reads `Call`, calls one use case, and answers with `call.respond(model)`; the body and
query models and the response model of each status come from its `Endpoint`, the same objects the
OpenAPI document is generated from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Awaitable, Callable, Mapping, Optional, Type

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import sessionmaker

from bot.case_system.contract import errors
from bot.case_system.contract.fields import (
    AUDIT_TOKEN,
    AUDIT_TOKEN_RULE,
    CASE_NUMBER,
    CONVERSATION_ID,
    CONVERSATION_ID_RULE,
)
from bot.case_system.contract.requests import RequestModel, parse
from bot.case_system.contract.responses import ResponseModel
from bot.case_system.domain import caseworkers
from bot.case_system.domain.audit import DEFAULT_ACTOR, DEFAULT_PURPOSE, AuditContext
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.handoff_desk import HandoffDesk
from bot.case_system.domain.interest import RateTable
from bot.case_system.http import json_io
from bot.case_system.store.models import Caseworker
from bot.config import Settings

API_PREFIX = "/api/v1"
ACTOR_HEADER = "X-Actor"
PURPOSE_HEADER = "X-Purpose"
CONVERSATION_HEADER = "X-Conversation-Id"
SESSION_KEY = "case_system.session"
LOGGED_CASE_NUMBER_KEY = "case_system.case_number"
CASEWORKER_KEY = "case_system.caseworker"  # set for caseworker routes (middlewares.caseworker_access)
CONSOLE_PURPOSE = "caseworker_console"

Clock = Callable[[], datetime]


@dataclass
class CaseSystem:
    """What the handlers share. Engine, sessions and rates are set when the app starts."""

    settings: Settings
    clock: Clock
    engine: Optional[AsyncEngine] = None
    sessions: Optional[sessionmaker] = None
    rates: Optional[RateTable] = None
    desk: Optional[HandoffDesk] = None  # handoffs at work: the dialogue server, live events, webhook

    def today(self) -> date:
        return oslo_date(self.clock())


CASE_SYSTEM = web.AppKey("case_system", CaseSystem)


@dataclass(frozen=True)
class Answer:
    """One documented answer of an endpoint: its model (None: an error body) and what it means."""

    model: Any  # a response model, a tuple of them (one of), or None for an error body
    description: str
    text_too: bool = False  # also served as text/plain (a data export as a document)


@dataclass(frozen=True)
class Endpoint:
    """One route of the API, with everything the handler validates against and the document says."""

    method: str
    path: str  # below API_PREFIX
    handler: Callable[["Call"], Awaitable[web.StreamResponse]]
    name: str  # the aiohttp route name
    operation_id: str
    summary: str
    answers: Mapping[int, Answer]
    body: Optional[Type[RequestModel]] = None
    query: Optional[Type[RequestModel]] = None
    description: Optional[str] = None
    public: bool = False  # no bearer token needed
    # For a caseworker: the bearer token with `X-Actor: caseworker:<username>`, or the console's
    # session (with its CSRF token on a POST); `Call.caseworker` is who.
    caseworker: bool = False
    audited: bool = True  # reads the audit headers
    path_parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    def route(self) -> web.RouteDef:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handler(Call(request, self))

        if self.method == "GET":  # and HEAD, as aiohttp's own `web.get` does
            return web.get(API_PREFIX + self.path, handle, name=self.name)
        return web.route(self.method, API_PREFIX + self.path, handle, name=self.name)


class Call:
    """One request to an endpoint, as its handler sees it."""

    def __init__(self, request: web.Request, endpoint: Endpoint) -> None:
        self.request = request
        self.endpoint = endpoint
        self.system: CaseSystem = request.app[CASE_SYSTEM]

    @property
    def session(self) -> AsyncSession:
        return self.request[SESSION_KEY]

    def now(self) -> datetime:
        return self.system.clock()

    @property
    def caseworker(self) -> Caseworker:
        return self.request[CASEWORKER_KEY]

    @property
    def desk(self) -> HandoffDesk:
        assert self.system.desk is not None, "the app has not started"
        return self.system.desk

    def audit_context(self) -> AuditContext:
        """The caller's actor, purpose and conversation from the audit headers, with defaults;
        a malformed header is a 400. On a caseworker route the actor is the caseworker."""
        headers = self.request.headers
        if self.endpoint.caseworker:
            return AuditContext(
                actor=caseworkers.actor(self.caseworker),
                purpose=_header(headers, PURPOSE_HEADER, AUDIT_TOKEN, AUDIT_TOKEN_RULE) or CONSOLE_PURPOSE,
                conversation_id=_header(headers, CONVERSATION_HEADER, CONVERSATION_ID, CONVERSATION_ID_RULE),
            )
        return AuditContext(
            actor=_header(headers, ACTOR_HEADER, AUDIT_TOKEN, AUDIT_TOKEN_RULE) or DEFAULT_ACTOR,
            purpose=_header(headers, PURPOSE_HEADER, AUDIT_TOKEN, AUDIT_TOKEN_RULE) or DEFAULT_PURPOSE,
            conversation_id=_header(headers, CONVERSATION_HEADER, CONVERSATION_ID, CONVERSATION_ID_RULE),
        )

    async def body(self) -> Any:
        """The request body as the endpoint's body model."""
        return self.parse_body(await self.json_object())

    async def json_object(self) -> dict[str, Any]:
        """The request body as a JSON object, not yet checked against the body model."""
        return await json_io.read_json_object(self.request)

    def parse_body(self, raw: dict[str, Any]) -> Any:
        assert self.endpoint.body is not None, f"{self.endpoint.operation_id} declares no body"
        return parse(self.endpoint.body, raw)

    def query(self) -> Any:
        """The query string as the endpoint's query model (a repeated key counts once, first)."""
        assert self.endpoint.query is not None, f"{self.endpoint.operation_id} declares no query"
        query = self.request.query
        return parse(self.endpoint.query, {key: query.get(key) for key in query.keys()})

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    def case_number(self) -> str:
        """The path's case number; anything not shaped like one is simply not a case."""
        case_number = self.path("case_number")
        if not CASE_NUMBER.fullmatch(case_number):
            raise errors.case_not_found()
        self.log_case_number(case_number)
        return case_number

    def log_case_number(self, case_number: Optional[str]) -> None:
        """The case number the request log line names (never anything else the caller sent)."""
        self.request[LOGGED_CASE_NUMBER_KEY] = case_number

    def respond(self, payload: ResponseModel, status: int = 200) -> web.Response:
        """`payload` as the answer, which must be the model the endpoint documents for `status`."""
        answer = self.endpoint.answers.get(status)
        if answer is None or answer.model is None or not isinstance(payload, answer.model):
            raise TypeError(f"{self.endpoint.operation_id} does not answer {status} with {type(payload).__name__}")
        return json_io.model_response(payload, status=status)


def _header(headers: Mapping[str, str], name: str, pattern: re.Pattern[str], rule: str) -> Optional[str]:
    # Actors and purposes are identifiers ("action-server", "caseworker:anne"), not free text, so
    # a caller cannot smuggle personal data into the audit trail through a header.
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()  # an empty value is refused like any other that breaks the rule
    if not pattern.fullmatch(value):
        raise errors.invalid_field(name, rule)
    return value
