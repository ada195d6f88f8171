"""The OpenAPI 3.0 document of the API, generated from the route table and the contract's models,
and served at `GET /api/v1/openapi.json`. Nothing in it is written by hand but the words."""

from __future__ import annotations

import copy
from typing import Any, Iterable

from aiohttp import web
from pydantic.schema import schema as pydantic_schema

from bot.case_system.contract.fields import AUDIT_TOKEN, CONVERSATION_ID, USERNAME
from bot.case_system.contract.responses import Error
from bot.case_system.http import console_sessions
from bot.case_system.http.context import ACTOR_HEADER, API_PREFIX, CONVERSATION_HEADER, PURPOSE_HEADER, Endpoint

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"
REF = "#/components/schemas/"

API_DOCUMENT = web.AppKey("api_document", dict)
# HTTP drops the spaces and tabs around a header value (RFC 9110, 5.5), so the server never sees them.
OWS = "[ \\t]*"

AUDIT_HEADERS = [
    {
        "name": ACTOR_HEADER,
        "in": "header",
        "required": False,
        "description": "Who is reading, for the audit trail (default 'api-client').",
        "schema": {"type": "string", "pattern": f"^{OWS}{AUDIT_TOKEN.pattern}{OWS}$"},
    },
    {
        "name": PURPOSE_HEADER,
        "in": "header",
        "required": False,
        "description": "Why, for the audit trail (default 'unspecified').",
        "schema": {"type": "string", "pattern": f"^{OWS}{AUDIT_TOKEN.pattern}{OWS}$"},
    },
    {
        "name": CONVERSATION_HEADER,
        "in": "header",
        "required": False,
        "description": "The conversation the caller acts for, for the audit trail.",
        "schema": {"type": "string", "pattern": f"^{OWS}{CONVERSATION_ID.pattern}{OWS}$"},
    },
]


# On a caseworker route the actor is the caseworker the integration acts for, not free.
CASEWORKER_ACTOR_HEADER = {
    "name": ACTOR_HEADER,
    "in": "header",
    "required": False,
    "description": "With the bearer token: `caseworker:<username>` of an active caseworker (required then; "
    "403 `actor_required` or `unknown_caseworker` otherwise).",
    "schema": {"type": "string", "pattern": f"^{OWS}caseworker:{USERNAME.pattern}{OWS}$", "example": "caseworker:anne"},
}

CSRF_HEADER = {
    "name": console_sessions.CSRF_HEADER,
    "in": "header",
    "required": False,
    "description": "With the console's session cookie: the session's CSRF token (required then).",
    "schema": {"type": "string"},
}


def build(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    endpoints = list(endpoints)
    models = {Error}
    for endpoint in endpoints:
        models.update(model for model in (endpoint.body, endpoint.query) if model is not None)
        for answer in endpoint.answers.values():
            models.update(_models(answer.model))
    definitions = pydantic_schema(sorted(models, key=lambda model: model.__name__), ref_prefix=REF)["definitions"]
    components = dict(sorted(definitions.items()))
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(API_PREFIX + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, components)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Case system API",
            "version": API_VERSION,
            "description": "The reference case system behind the debtor dialogue assistant. JSON only; money as "
            "strings with two decimals in NOK; dates ISO 8601. Errors are "
            '{"error": {"code": ..., "message": ..., "field": ...}}.',
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "consoleSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": console_sessions.COOKIE_NAME,
                    "description": "The caseworker console's session (log in at /console/login).",
                },
            },
            "schemas": components,
        },
    }


def _models(model: Any) -> tuple:
    if model is None:
        return ()
    return model if isinstance(model, tuple) else (model,)


def _ref(model: Any) -> dict[str, Any]:
    return {"$ref": REF + model.__name__}


def _schema_of(model: Any) -> dict[str, Any]:
    if model is None:
        return _ref(Error)
    if isinstance(model, tuple):
        return {"oneOf": [_ref(one) for one in model]}
    return _ref(model)


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": endpoint.operation_id, "summary": endpoint.summary}
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.public:
        operation["security"] = []
    elif endpoint.caseworker:
        operation["security"] = [{"bearerAuth": []}, {"consoleSession": []}]
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema_}
        for name, schema_ in endpoint.path_parameters.items()
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(components[endpoint.query.__name__])
    if endpoint.audited and endpoint.caseworker:
        parameters += [CASEWORKER_ACTOR_HEADER, *(header for header in AUDIT_HEADERS if header["name"] != ACTOR_HEADER)]
    elif endpoint.audited:
        parameters += AUDIT_HEADERS
    if endpoint.caseworker and endpoint.method != "GET":
        parameters.append(CSRF_HEADER)
    if parameters:
        operation["parameters"] = copy.deepcopy(parameters)
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    operation["responses"] = {
        str(status): {
            "description": answer.description,
            "content": {
                "application/json": {"schema": _schema_of(answer.model)},
                **({"text/plain": {"schema": {"type": "string"}}} if answer.text_too else {}),
            },
        }
        for status, answer in sorted(endpoint.answers.items())
    }
    return operation


def _query_parameters(model_schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(model_schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
        for name, prop in model_schema.get("properties", {}).items()
    ]


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is text or absent: the body's "null is absent" does not apply."""
    prop = {key: value for key, value in prop.items() if key != "nullable"}
    if "enum" in prop:
        prop["enum"] = [value for value in prop["enum"] if value is not None]
    return prop
