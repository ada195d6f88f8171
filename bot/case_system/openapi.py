"""The OpenAPI 3.0 description of the case-system API, served at `GET /api/v1/openapi.json`.

Hand-written next to the handlers it describes; a test checks that every registered route is in
it, so a new route without documentation fails the suite.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "2450.00", "description": "NOK"}
DATE = {"type": "string", "format": "date"}
TIMESTAMP = {"type": "string", "format": "date-time"}
CASE_NUMBER = {"type": "string", "pattern": "^[0-9]{6,8}$", "example": "100001"}
CHANNEL = {"type": "string", "enum": ["web", "sms", "voice", "rest"]}
LANGUAGE = {"type": "string", "enum": ["nb", "en"]}
CONVERSATION_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:@+=/-]{1,200}$"}

AUDIT_HEADERS = [
    {
        "name": "X-Actor",
        "in": "header",
        "required": False,
        "description": "Who is reading, for the audit trail (default 'api-client').",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:@-]{1,100}$"},
    },
    {
        "name": "X-Purpose",
        "in": "header",
        "required": False,
        "description": "Why, for the audit trail (default 'unspecified').",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:@-]{1,100}$"},
    },
    {
        "name": "X-Conversation-Id",
        "in": "header",
        "required": False,
        "description": "The conversation the caller acts for, for the audit trail.",
        "schema": CONVERSATION_ID,
    },
]

COMMON_ERRORS = {
    "401": _error("Missing or wrong bearer token (`unauthorized`)."),
}
BODY_ERRORS = {
    "400": _error("Body is not a JSON object (`invalid_json`) or a field has the wrong type (`invalid_field`)."),
    "413": _error("Body larger than 64 KiB (`payload_too_large`)."),
    "415": _error("Body not sent as application/json (`unsupported_media_type`)."),
    "422": _error("A field is missing or breaks a rule (`validation_error`; names the field, never the value)."),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "validation_error"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The field at fault, when there is one."},
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "database", "interest_rates"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "database": {"type": "string", "enum": ["ok", "unreachable"]},
            "interest_rates": {
                "type": "object",
                "required": ["status", "unsourced_periods"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "provisional"]},
                    "unsourced_periods": {
                        "type": "array",
                        "items": {"type": "string", "example": "2027-H1"},
                        "description": "Half-years up to today without a sourced late-payment interest rate.",
                    },
                },
            },
        },
    },
    "VerificationRequest": {
        "type": "object",
        "description": "Exactly one of birth_date and national_id. On the sms channel the sender number is "
        "an extra factor and required.",
        "required": ["case_number", "channel", "conversation_id"],
        "properties": {
            "case_number": {"type": "string", "description": "As typed; spaces, dots and dashes are ignored."},
            "birth_date": {**DATE, "nullable": True},
            "national_id": {"type": "string", "nullable": True, "description": "11 digits, mod-11 checked."},
            "channel": CHANNEL,
            "conversation_id": CONVERSATION_ID,
            "phone": {"type": "string", "nullable": True, "example": "+4791234567"},
        },
    },
    "VerificationVerified": {
        "type": "object",
        "required": ["verified", "debtor", "case_numbers", "verified_case_number"],
        "properties": {
            "verified": {"type": "boolean", "enum": [True]},
            "debtor": _ref("DebtorSummary"),
            "case_numbers": {"type": "array", "items": CASE_NUMBER, "description": "The debtor's open cases."},
            "verified_case_number": CASE_NUMBER,
        },
    },
    "VerificationRefused": {
        "type": "object",
        "description": "The same answer whether the case is unknown, a factor is wrong or the phone differs.",
        "required": ["verified", "outcome"],
        "properties": {
            "verified": {"type": "boolean", "enum": [False]},
            "outcome": {"type": "string", "enum": ["refused", "locked"]},
            "locked_until": {**TIMESTAMP, "description": "Only when outcome is 'locked'."},
        },
    },
    "DebtorSummary": {
        "type": "object",
        "required": ["first_name", "language"],
        "properties": {"first_name": {"type": "string"}, "language": LANGUAGE},
    },
    "ClaimLine": {
        "type": "object",
        "required": ["type", "amount", "description", "from_date", "to_date", "provisional"],
        "properties": {
            "type": {
                "type": "string",
                "enum": [
                    "principal",
                    "late_payment_interest",
                    "reminder_fee",
                    "collection_notice_fee",
                    "collection_fee",
                ],
            },
            "amount": MONEY,
            "description": {"type": "string"},
            "from_date": {**DATE, "nullable": True, "description": "Fees: the day charged."},
            "to_date": {**DATE, "nullable": True},
            "rate_percent": {"type": "string", "example": "12.50", "description": "Interest lines only."},
            "provisional": {"type": "boolean", "description": "Interest at a rate not yet sourced."},
        },
    },
    "Payment": {
        "type": "object",
        "required": ["paid_on", "amount"],
        "properties": {"paid_on": DATE, "amount": MONEY},
    },
    "PaymentPlan": {
        "type": "object",
        "required": ["id", "status", "monthly_amount", "fee", "created_via", "created_at", "installments"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["active", "completed", "cancelled", "defaulted"]},
            "monthly_amount": MONEY,
            "fee": MONEY,
            "created_via": {"type": "string", "enum": ["web", "sms", "voice", "rest", "backoffice"]},
            "created_at": TIMESTAMP,
            "installments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sequence", "due_date", "amount", "status"],
                    "properties": {
                        "sequence": {"type": "integer"},
                        "due_date": DATE,
                        "amount": MONEY,
                        "status": {"type": "string", "enum": ["due", "paid", "missed"]},
                    },
                },
            },
        },
    },
    "Case": {
        "type": "object",
        "description": "balance = total_claimed - total_paid (never below zero; any excess is overpaid).",
        "required": [
            "case_number",
            "status",
            "stage",
            "creditor",
            "invoice",
            "kid",
            "as_of",
            "lines",
            "payments",
            "total_claimed",
            "total_paid",
            "balance",
            "overpaid",
            "provisional_interest",
            "disputed",
            "collection_stopped",
            "debtor",
            "open_payment_plan",
        ],
        "properties": {
            "case_number": CASE_NUMBER,
            "status": {"type": "string", "enum": ["open", "closed"]},
            "stage": {"type": "string", "enum": ["inkassovarsel", "betalingsoppfordring", "legal_collection"]},
            "creditor": {
                "type": "object",
                "required": ["name", "org_number"],
                "properties": {"name": {"type": "string"}, "org_number": {"type": "string", "pattern": "^[0-9]{9}$"}},
            },
            "invoice": {
                "type": "object",
                "required": ["number", "date", "due_date", "amount", "description"],
                "properties": {
                    "number": {"type": "string"},
                    "date": DATE,
                    "due_date": DATE,
                    "amount": MONEY,
                    "description": {"type": "string"},
                },
            },
            "kid": {"type": "string"},
            "as_of": {**DATE, "description": "The day interest is computed to (Europe/Oslo)."},
            "lines": {"type": "array", "items": _ref("ClaimLine")},
            "payments": {"type": "array", "items": _ref("Payment")},
            "total_claimed": MONEY,
            "total_paid": MONEY,
            "balance": MONEY,
            "overpaid": MONEY,
            "provisional_interest": {"type": "boolean"},
            "disputed": {"type": "boolean"},
            "collection_stopped": {"type": "boolean"},
            "debtor": _ref("DebtorSummary"),
            "open_payment_plan": {**_ref("PaymentPlan"), "nullable": True},
        },
    },
    "TranscriptMessage": {
        "type": "object",
        "required": ["sender", "text", "at"],
        "properties": {
            "sender": {"type": "string", "enum": ["user", "bot"]},
            "text": {"type": "string", "maxLength": 4000},
            "at": TIMESTAMP,
        },
    },
    "HandoffRequest": {
        "type": "object",
        "required": ["conversation_id", "channel", "reason"],
        "properties": {
            "conversation_id": CONVERSATION_ID,
            "channel": CHANNEL,
            "reason": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$", "example": "not_understood"},
            "priority": {"type": "string", "enum": ["normal", "high"], "default": "normal"},
            "case_number": {**CASE_NUMBER, "nullable": True},
            "summary": {"type": "string", "maxLength": 4000},
            "transcript": {"type": "array", "maxItems": 500, "items": _ref("TranscriptMessage")},
        },
    },
    "Handoff": {
        "type": "object",
        "description": "Valid national identity numbers in summary and transcript are stored as '[national-id]'.",
        "required": [
            "id",
            "conversation_id",
            "channel",
            "reason",
            "priority",
            "status",
            "case_number",
            "summary",
            "transcript",
            "created_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "conversation_id": CONVERSATION_ID,
            "channel": CHANNEL,
            "reason": {"type": "string"},
            "priority": {"type": "string", "enum": ["normal", "high"]},
            "status": {"type": "string", "enum": ["open", "taken", "closed"]},
            "case_number": {**CASE_NUMBER, "nullable": True},
            "summary": {"type": "string"},
            "transcript": {"type": "array", "items": _ref("TranscriptMessage")},
            "created_at": TIMESTAMP,
        },
    },
    "HandoffList": {
        "type": "object",
        "required": ["handoffs"],
        "properties": {"handoffs": {"type": "array", "items": _ref("Handoff")}},
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/health": {
        "get": {
            "operationId": "health",
            "summary": "Liveness, database reachability and whether interest rates are sourced up to today.",
            "security": [],
            "responses": {
                "200": _json(_ref("Health"), "The case system is up."),
                "503": _json(_ref("Health"), "The database is unreachable."),
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0 document."), **COMMON_ERRORS},
        }
    },
    "/api/v1/verifications": {
        "post": {
            "operationId": "verifyIdentity",
            "summary": "Check a debtor's identity: case number plus birth date or national identity number.",
            "description": "Failed attempts are counted per case number as typed (also for case numbers that do "
            "not exist); after the configured number of failures (3) the case number is locked for the "
            "configured time (30 minutes) on every channel. Every attempt is audited without the values tried. "
            "A malformed factor is answered with 422, audited as rejected_input, and not counted.",
            "parameters": AUDIT_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("VerificationRequest")}}},
            "responses": {
                "200": _json(
                    {"oneOf": [_ref("VerificationVerified"), _ref("VerificationRefused")]},
                    "Verified, or a uniform refusal (`refused` or `locked`).",
                ),
                **COMMON_ERRORS,
                **BODY_ERRORS,
            },
        }
    },
    "/api/v1/cases/{case_number}": {
        "get": {
            "operationId": "getCase",
            "summary": "A case with its claim computed today: principal, interest, fees, payments and balance.",
            "parameters": [
                {"name": "case_number", "in": "path", "required": True, "schema": CASE_NUMBER},
                *AUDIT_HEADERS,
            ],
            "responses": {
                "200": _json(_ref("Case"), "The case."),
                "400": _error("A malformed audit header (`invalid_field`)."),
                **COMMON_ERRORS,
                "404": _error("No such case, or not a case number (`case_not_found`)."),
            },
        }
    },
    "/api/v1/handoffs": {
        "get": {
            "operationId": "listHandoffs",
            "summary": "Handoffs to caseworkers, oldest first (at most 500).",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["open", "taken", "closed"]},
                },
                *AUDIT_HEADERS,
            ],
            "responses": {
                "200": _json(_ref("HandoffList"), "The handoffs."),
                **COMMON_ERRORS,
                "422": _error("Unknown status filter (`validation_error`)."),
            },
        },
        "post": {
            "operationId": "createHandoff",
            "summary": "Hand a conversation to a caseworker; at most one open handoff per conversation.",
            "parameters": AUDIT_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("HandoffRequest")}}},
            "responses": {
                "201": _json(_ref("Handoff"), "Created."),
                "200": _json(_ref("Handoff"), "The conversation already had an open handoff; that one is returned."),
                **COMMON_ERRORS,
                **BODY_ERRORS,
            },
        },
    },
}


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Case system API",
            "version": API_VERSION,
            "description": "The reference case system behind the debtor dialogue assistant. JSON only; money "
            "as strings with two decimals in NOK; dates ISO 8601. Errors are "
            '{"error": {"code": ..., "message": ...}}.',
        },
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


def document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers may not change the cached one)."""
    return copy.deepcopy(_document())
