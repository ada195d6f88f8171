"""JSON in and out of the API: bounded request bodies, answers that are never cached."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from bot.case_system.contract import errors
from bot.case_system.contract.responses import ResponseModel

MAX_BODY_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}  # answers hold personal data


def model_response(payload: ResponseModel, *, status: int = 200) -> web.Response:
    return web.Response(text=payload.to_json(), status=status, content_type="application/json", headers=NO_STORE)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False))
    response.headers.update(NO_STORE)
    return response


def error_response(error: errors.ApiError) -> web.Response:
    response = json_response(error.body(), status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="case-system"'
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
