"""The case system's REST API: app factory, middlewares, handlers and the routes table.

Handlers validate input, call one service function, commit, and serialise. Each request under
`/api/v1` gets one database session; nothing is committed when a request is rejected (the one
exception: a malformed identity factor is audited as `rejected_input`).

Log lines carry method, route pattern, status, duration and a case number, never personal data.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Optional
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import sessionmaker

from bot.config import TIMEZONE, Settings
from bot.case_system import audit, db, errors, handoffs, openapi, serializers, verification
from bot.case_system.interest import RateTable, load_default_rate_table
from bot.case_system.models import HandoffStatus

log = logging.getLogger("bot.case_system.api")

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
OSLO = ZoneInfo(TIMEZONE)
PUBLIC_ROUTES = frozenset({"health"})

Clock = Callable[[], datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class CaseSystem:
    """What the handlers share. Engine, sessions and rates are set when the app starts."""

    settings: Settings
    clock: Clock
    engine: Optional[AsyncEngine] = None
    sessions: Optional[sessionmaker] = None
    rates: Optional[RateTable] = None

    def today(self) -> date:
        return oslo_date(self.clock())


def oslo_date(moment: datetime) -> date:
    """The calendar day in Norway at `moment`: interest and deadlines follow the Oslo calendar."""
    return moment.astimezone(OSLO).date()


CASE_SYSTEM = web.AppKey("case_system", CaseSystem)
SESSION_KEY = "case_system.session"
LOGGED_CASE_NUMBER_KEY = "case_system.case_number"


def create_app(
    settings: Settings,
    *,
    engine: Optional[AsyncEngine] = None,
    clock: Optional[Clock] = None,
    rates: Optional[RateTable] = None,
) -> web.Application:
    """The case-system API as an aiohttp application.

    `engine` lets a caller share (and dispose of) its own engine; otherwise the app creates one on
    startup and disposes of it on cleanup. `clock` returns the current aware UTC time (tests move
    it instead of sleeping); `rates` replaces the default interest-rate table.
    Middlewares only act on paths under `/api/v1`, so other routes can live in the same app.
    """
    app = web.Application(
        middlewares=[log_requests, json_errors, require_bearer_token, request_session],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CASE_SYSTEM] = CaseSystem(settings=settings, clock=clock or utc_now, rates=rates)
    app.cleanup_ctx.append(functools.partial(_database, engine=engine))
    app.router.add_routes(ROUTES)
    app.router.add_routes(importlib.import_module("bot.case_system.sms_routes").ROUTES)  # imports this module
    app.router.add_routes(importlib.import_module("bot.case_system.rights_routes").ROUTES)
    app.router.add_routes(importlib.import_module("bot.case_system.payment_routes").ROUTES)
    return app


async def _database(app: web.Application, *, engine: Optional[AsyncEngine]):
    system = app[CASE_SYSTEM]
    system.engine = engine if engine is not None else db.create_engine(system.settings)
    system.sessions = db.session_factory(system.engine)
    if system.rates is None:
        # Reading the rate file blocks; do it once, off the event loop, before serving.
        system.rates = await asyncio.get_running_loop().run_in_executor(None, load_default_rate_table)
    yield
    if engine is None:
        await system.engine.dispose()


# --- middlewares ---------------------------------------------------------------------------------


def _is_api(request: web.Request) -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _route_pattern(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unmatched)"


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        duration_ms = (time.perf_counter() - started) * 1000
        route = _route_pattern(request)
        case_number = request.get(LOGGED_CASE_NUMBER_KEY) or _path_case_number(request)
        log.info(
            "%s %s %d %.1fms%s",
            request.method,
            route,
            status,
            duration_ms,
            f" case={case_number}" if case_number else "",
            extra={
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round(duration_ms, 2),
                "case_number": case_number,
            },
        )


def _path_case_number(request: web.Request) -> Optional[str]:
    # Only something shaped like a case number is logged: a mistyped identity number is not.
    value = request.match_info.get("case_number")
    return value if value is not None and serializers.CASE_NUMBER.fullmatch(value) else None


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except errors.ApiError as error:
        return error_response(error)
    except web.HTTPException as exception:
        return error_response(_from_http_exception(exception))
    except asyncio.CancelledError:
        raise
    except Exception:
        # The engine hides statement parameters, so the traceback holds no personal data.
        log.exception("unhandled error in %s %s", request.method, _route_pattern(request))
        return error_response(errors.internal_error())


def _from_http_exception(exception: web.HTTPException) -> errors.ApiError:
    if exception.status == 404:
        return errors.not_found()
    if exception.status == 405:
        return errors.method_not_allowed()
    if exception.status == 413:
        return errors.payload_too_large(MAX_BODY_BYTES)
    return errors.ApiError(exception.status, f"http_{exception.status}", exception.reason)


@web.middleware
async def require_bearer_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request) or request.match_info.route.name in PUBLIC_ROUTES:
        return await handler(request)
    expected = request.app[CASE_SYSTEM].settings.case_api_key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # An empty configured key locks the API rather than opening it.
    if not expected or scheme.lower() != "bearer" or not _is_the_key(token.strip(), expected):
        raise errors.unauthorized()
    return await handler(request)


def _is_the_key(token: str, expected: str) -> bool:
    """Constant-time comparison of a presented token with the key, whatever bytes were sent.

    aiohttp hands header bytes that are not UTF-8 over as surrogate escapes, which a plain
    `encode()` refuses; encoding them back gives the bytes received, which simply do not match.
    """
    try:
        presented = token.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte stands for: not the key either
        return False
    return hmac.compare_digest(presented, expected.encode("utf-8", "surrogateescape"))


@web.middleware
async def request_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request) or request.match_info.http_exception is not None:
        return await handler(request)
    # One session per request; leaving the block rolls back whatever was not committed.
    async with request.app[CASE_SYSTEM].sessions() as session:
        request[SESSION_KEY] = session
        return await handler(request)


# --- request and response helpers ----------------------------------------------------------------


def error_response(error: errors.ApiError) -> web.Response:
    response = json_response(error.body(), status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="case-system"'
    return response


def json_response(data: Any, *, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False))
    response.headers["Cache-Control"] = "no-store"  # answers hold personal data
    return response


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, at most `MAX_BODY_BYTES`."""
    if request.content_type != "application/json":
        raise errors.unsupported_media_type()
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise errors.payload_too_large(MAX_BODY_BYTES)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():  # also bounds bodies without Content-Length
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise errors.payload_too_large(MAX_BODY_BYTES)
        chunks.append(chunk)
    try:
        value = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise errors.invalid_json() from None
    if not isinstance(value, dict):
        raise errors.invalid_json("The request body must be a JSON object.")
    if not _is_storable_text(value):
        raise errors.invalid_json("The request body holds text that is not valid Unicode.")
    return value


def _is_storable_text(value: Any) -> bool:
    """Whether every string in `value` can be written as UTF-8.

    JSON can escape lone surrogates ("\\ud800"); `json.loads` accepts them, but no database
    driver can store them, so they would fail at the first write instead of at the door.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _session(request: web.Request) -> AsyncSession:
    return request[SESSION_KEY]


# --- handlers ------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    unsourced = list(system.rates.unsourced_periods(system.today()))
    database_ok = await db.ping(system.engine)
    body = {
        "status": "ok" if database_ok else "unavailable",
        "database": "ok" if database_ok else "unreachable",
        "interest_rates": {"status": "provisional" if unsourced else "ok", "unsourced_periods": unsourced},
    }
    return json_response(body, status=200 if database_ok else 503)


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(openapi.document())


async def create_verification(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    settings = system.settings
    body = await read_json_object(request)
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    now = system.clock()
    try:
        attempt = serializers.parse_verification(
            body, today=oslo_date(now), allow_synthetic=settings.demo_mode
        )
    except serializers.RejectedIdentityInput as rejected:
        request[LOGGED_CASE_NUMBER_KEY] = rejected.case_number
        audit.record(
            session,
            context,
            at=now,
            action=verification.AUDIT_ACTION,
            subject_type=verification.AUDIT_SUBJECT,
            subject_id=rejected.case_number,
            outcome=verification.Outcome.REJECTED_INPUT.value,
            channel=rejected.channel.value,
            conversation_id=rejected.conversation_id,
            detail=rejected.field,
        )
        await session.commit()
        raise
    request[LOGGED_CASE_NUMBER_KEY] = attempt.case_number
    result = await verification.verify_identity(
        session,
        attempt,
        now=now,
        max_failures=settings.max_verification_failures,
        lock_for=timedelta(minutes=settings.verification_lock_minutes),
        context=context,
    )
    await session.commit()
    return json_response(serializers.verification_json(result))


async def get_case(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    case_number = request.match_info["case_number"]
    if not serializers.CASE_NUMBER.fullmatch(case_number):
        raise errors.case_not_found()
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    case = await db.load_case(session, case_number)
    if case is None:
        raise errors.case_not_found()
    now = system.clock()
    as_of = serializers.statement_date(case, oslo_date(now))
    statement = serializers.case_statement(case, as_of=as_of, rates=system.rates)
    audit.record(
        session, context, at=now, action="case.read", subject_type="case", subject_id=case.case_number, outcome="ok"
    )
    await session.commit()
    return json_response(serializers.case_json(case, statement, as_of=as_of, rates=system.rates))


async def list_handoffs(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    status = request.query.get("status")
    if status is not None and status not in serializers.HANDOFF_STATUS_NAMES:
        raise errors.validation_error("status", "must be one of " + ", ".join(serializers.HANDOFF_STATUS_NAMES))
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    found = await handoffs.list_handoffs(session, status=HandoffStatus(status) if status else None)
    audit.record(
        session,
        context,
        at=system.clock(),
        action="handoff.list",
        subject_type="handoff",
        subject_id=None,
        outcome="ok",
        detail=f"status={status or 'any'}",
    )
    await session.commit()
    return json_response({"handoffs": [serializers.handoff_json(handoff) for handoff in found]})


async def create_handoff(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    body = await read_json_object(request)
    context = audit.context_from_headers(request.headers)
    fields = serializers.parse_handoff(body)
    request[LOGGED_CASE_NUMBER_KEY] = fields["case_number"]
    session = _session(request)
    now = system.clock()
    handoff, created = await handoffs.create_handoff(session, fields, now=now)
    audit.record(
        session,
        context,
        at=now,
        action="handoff.create",
        subject_type="handoff",
        subject_id=str(handoff.id),
        outcome="created" if created else "existing",
        channel=handoff.channel.value,
        conversation_id=handoff.conversation_id,
    )
    await session.commit()
    return json_response(serializers.handoff_json(handoff), status=201 if created else 200)


# --- routes --------------------------------------------------------------------------------------

ROUTES = [
    web.get(f"{API_PREFIX}/health", health, name="health"),
    web.get(f"{API_PREFIX}/openapi.json", openapi_document, name="openapi"),
    web.post(f"{API_PREFIX}/verifications", create_verification, name="verifications"),
    web.get(f"{API_PREFIX}/cases/{{case_number}}", get_case, name="case"),
    web.get(f"{API_PREFIX}/handoffs", list_handoffs, name="handoffs"),
    web.post(f"{API_PREFIX}/handoffs", create_handoff, name="handoffs"),
]
