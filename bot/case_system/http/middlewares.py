"""What every request under `/api/v1` goes through: a log line, JSON errors, the bearer key, and
one database session. Other routes in the same app (the web chat page) pass untouched.

Log lines carry method, route pattern, status, duration and a case number, never personal data.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Awaitable, Callable, Iterable, Optional

from aiohttp import web

from bot.case_system.contract import errors
from bot.case_system.contract.fields import CASE_NUMBER
from bot.case_system.domain import caseworkers
from bot.case_system.http import console_sessions
from bot.case_system.http.context import (
    ACTOR_HEADER,
    API_PREFIX,
    CASE_SYSTEM,
    CASEWORKER_KEY,
    LOGGED_CASE_NUMBER_KEY,
    SESSION_KEY,
)
from bot.case_system.http.json_io import MAX_BODY_BYTES, error_response

# The name operators know the API's log lines by (bot/logs.py renders it).
log = logging.getLogger("bot.case_system.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_api(request: web.Request) -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def route_pattern(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unmatched)"


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_api(request):
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        duration_ms = (time.perf_counter() - started) * 1000
        route = route_pattern(request)
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
    return value if value is not None and CASE_NUMBER.fullmatch(value) else None


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except errors.ApiError as error:
        return error_response(error)
    except web.HTTPException as exception:
        response = error_response(_from_http_exception(exception))
        if isinstance(exception, web.HTTPMethodNotAllowed):  # RFC 9110: a 405 names what is allowed
            response.headers["Allow"] = ", ".join(sorted(exception.allowed_methods))
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        # The engine hides statement parameters, so the traceback holds no personal data.
        log.exception("unhandled error in %s %s", request.method, route_pattern(request))
        return error_response(errors.internal_error())


def _from_http_exception(exception: web.HTTPException) -> errors.ApiError:
    if exception.status == 404:
        return errors.not_found()
    if exception.status == 405:
        return errors.method_not_allowed()
    if exception.status == 413:
        return errors.payload_too_large(MAX_BODY_BYTES)
    return errors.ApiError(exception.status, f"http_{exception.status}", exception.reason)


def require_bearer_token(public_routes: Iterable[str], caseworker_routes: Iterable[str] = ()):
    """A middleware refusing every API request without the configured key, but `public_routes`
    (open) and `caseworker_routes` (checked by `caseworker_access`, which also takes a session)."""
    public = frozenset(public_routes) | frozenset(caseworker_routes)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request) or request.match_info.route.name in public:
            return await handler(request)
        if not has_the_key(request):
            raise errors.unauthorized()
        return await handler(request)

    return middleware


def has_the_key(request: web.Request) -> bool:
    expected = request.app[CASE_SYSTEM].settings.case_api_key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # An empty configured key locks the API rather than opening it.
    return bool(expected) and scheme.lower() == "bearer" and _is_the_key(token.strip(), expected)


def caseworker_access(caseworker_routes: Iterable[str]):
    """Who a caseworker route acts for: with the bearer key, the active caseworker named in
    `X-Actor: caseworker:<username>` (else 403); without it, the console session's caseworker
    (else 401), with the session's CSRF token on anything but a read (else 403)."""
    routes = frozenset(caseworker_routes)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request) or request.match_info.route.name not in routes:
            return await handler(request)
        db = request[SESSION_KEY]
        if "Authorization" in request.headers:
            if not has_the_key(request):
                raise errors.unauthorized()
            username = caseworkers.username_of_actor(request.headers.get(ACTOR_HEADER, "").strip())
            if username is None:
                raise errors.ApiError(
                    403,
                    "actor_required",
                    "Acting for a caseworker needs the header 'X-Actor: caseworker:<username>'.",
                    field=ACTOR_HEADER,
                )
            caseworker = await caseworkers.active_caseworker(db, username)
            if caseworker is None:
                raise errors.ApiError(
                    403, "unknown_caseworker", "No active caseworker has that username.", field=ACTOR_HEADER
                )
        else:
            caseworker = await console_sessions.caseworker_of(request, db)
            if caseworker is None:
                raise errors.ApiError(
                    401, "unauthorized", "Log in to the console, or send the bearer token and X-Actor."
                )
            if request.method not in console_sessions.SAFE_METHODS:
                session = await console_sessions.get_session(request)
                if not console_sessions.csrf_matches(session, request.headers.get(console_sessions.CSRF_HEADER)):
                    raise errors.ApiError(
                        403, "csrf_failed", "The request lacks the session's CSRF token (X-CSRF-Token)."
                    )
        request[CASEWORKER_KEY] = caseworker
        return await handler(request)

    return middleware


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
    if not is_api(request) or request.match_info.http_exception is not None:
        return await handler(request)
    # One session per request; leaving the block rolls back whatever was not committed.
    async with request.app[CASE_SYSTEM].sessions() as session:
        request[SESSION_KEY] = session
        return await handler(request)
