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
            "notice_sent_on",
            "pay_by",
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
            "notice_sent_on": {
                **DATE,
                "nullable": True,
                "description": "The day the letter of the current stage (inkassovarsel or betalingsoppfordring) was sent.",
            },
            "pay_by": _ref("PayBy"),
        },
    },
    "PayBy": {
        "type": "object",
        "description": "What the debtor must pay and by when. In order: the next unpaid installment of an active "
        "payment plan; a postponement's new due date; the current stage's letter (sent on notice_sent_on) plus its "
        "statutory days, moved to the next Norwegian bank day. No date when the case is closed or paid, collection "
        "is stopped, the case is in legal collection, or no notice date is known.",
        "required": ["date", "amount", "basis", "passed"],
        "properties": {
            "date": {**DATE, "nullable": True, "example": "2026-11-30"},
            "amount": {**MONEY, "description": "NOK: the installment for a payment plan, otherwise the balance."},
            "basis": {
                "type": "string",
                "enum": ["payment_plan", "postponement", "notice", "legal_collection", "collection_stopped", "none"],
            },
            "passed": {"type": "boolean", "description": "The date is before today (Europe/Oslo)."},
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
            "description": "Attempts are counted per case number as typed (also for case numbers that do "
            "not exist) and per debtor; after the configured number of attempts (3) without a success the case "
            "number, and every case of its debtor, is locked for the configured time (30 minutes) on every "
            "channel, also against attempts made at the same moment. Every attempt is audited without the "
            "values tried. A malformed factor is answered with 422, audited as rejected_input, and not counted.",
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


# SMS channel support: inbound deduplication and consent, the outbox, provider delivery status.
_PROVIDER_ID = {"type": "string", "pattern": "^[A-Za-z]{2}[0-9a-fA-F]{32}$", "example": "SM" + "0" * 32}
_PHONE = {"type": "string", "example": "+4791234567", "description": "E.164 (a Norwegian number may omit +47)"}
SCHEMAS.update(
    {
        "InboundSmsRequest": {
            "type": "object",
            "required": ["message_sid", "from_phone"],
            "properties": {
                "message_sid": _PROVIDER_ID,
                "from_phone": _PHONE,
                "body": {"type": "string", "maxLength": 1600, "description": "Empty for a picture-only message."},
                "opt_out_type": {"type": "string", "nullable": True, "description": "Twilio's OptOutType."},
            },
        },
        "InboundSmsResult": {
            "type": "object",
            "required": ["duplicate", "consent", "opted_out"],
            "properties": {
                "duplicate": {"type": "boolean", "description": "This message id was processed before."},
                "consent": {"type": "string", "enum": ["opt_out", "opt_in"], "nullable": True},
                "opted_out": {"type": "boolean"},
            },
        },
        "OutboxRequest": {
            "type": "object",
            "required": ["to_phone", "body", "purpose"],
            "properties": {
                "to_phone": _PHONE,
                "body": {"type": "string", "minLength": 1, "maxLength": 1600},
                "purpose": {"type": "string", "pattern": "^[a-z_]{1,64}$", "example": "conversation_reply"},
            },
        },
        "OutboundMessage": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string", "enum": ["pending", "sent", "failed", "suppressed"]},
            },
        },
        "DeliveryStatusRequest": {
            "type": "object",
            "required": ["provider_id", "status"],
            "properties": {
                "provider_id": _PROVIDER_ID,
                "status": {"type": "string", "example": "undelivered"},
                "error_code": {"type": "string", "nullable": True, "example": "30003"},
            },
        },
    }
)
PATHS.update(
    {
        "/api/v1/sms/inbound": {
            "post": {
                "operationId": "recordInboundSms",
                "summary": "Record an inbound SMS once (retries are duplicates) and apply STOP/STOPP/AVSLUTT/START.",
                "parameters": AUDIT_HEADERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("InboundSmsRequest")}}},
                "responses": {"200": _json(_ref("InboundSmsResult"), "What the channel should do."), **COMMON_ERRORS, **BODY_ERRORS},
            }
        },
        "/api/v1/sms/outbox": {
            "post": {
                "operationId": "enqueueSms",
                "summary": "Queue an SMS for delivery; stored as suppressed when the number has opted out.",
                "parameters": AUDIT_HEADERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("OutboxRequest")}}},
                "responses": {"201": _json(_ref("OutboundMessage"), "Queued."), **COMMON_ERRORS, **BODY_ERRORS},
            }
        },
        "/api/v1/sms/status": {
            "post": {
                "operationId": "recordSmsStatus",
                "summary": "The provider's delivery report for a sent message; failures are recorded.",
                "parameters": AUDIT_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("DeliveryStatusRequest")}},
                },
                "responses": {
                    "200": _json(_ref("OutboundMessage"), "Recorded."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No message has that provider id (`message_not_found`)."),
                },
            }
        },
    }
)


# GDPR rights requests (bot/case_system/rights_routes.py): log, list, read, export.
_REFERENCE = {"type": "string", "pattern": "^PV-[0-9A-HJKMNP-TV-Z]{6}$", "example": "PV-7K3QXM"}
_RIGHTS_TYPES = ["access", "rectification", "erasure", "restriction", "objection", "portability", "human_review"]
_RIGHTS_STATUSES = ["received", "in_progress", "completed", "rejected"]
_REFERENCE_PARAMETER = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The request's short reference (any case; the dash may be left out).",
    "schema": {"type": "string"},
}
_NOT_FOUND = {"404": _error("No request with that reference (`rights_request_not_found`).")}
SCHEMAS.update(
    {
        "RightsRequestCreate": {
            "type": "object",
            "description": "case_number is accepted only when this conversation verified that case through "
            "POST /verifications (within 12 hours); otherwise the request is logged as identity not yet "
            "confirmed by leaving case_number out. Valid national identity numbers in texts are stored as "
            "'[national-id]'.",
            "required": ["type", "channel", "conversation_id"],
            "properties": {
                "type": {"type": "string", "enum": _RIGHTS_TYPES},
                "channel": CHANNEL,
                "conversation_id": CONVERSATION_ID,
                "case_number": {**CASE_NUMBER, "nullable": True},
                "request_text": {"type": "string", "maxLength": 4000, "description": "The debtor's own words."},
                "rectification_wrong": {"type": "string", "maxLength": 4000, "description": "Rectification only."},
                "rectification_right": {"type": "string", "maxLength": 4000, "description": "Rectification only."},
                "idempotency_key": {"type": "string", "maxLength": 100},
                "transcript": {"type": "array", "maxItems": 500, "items": _ref("TranscriptMessage")},
            },
        },
        "RightsRequest": {
            "type": "object",
            "description": "due_at is the end (Europe/Oslo) of due_date, one calendar month after receipt "
            "(GDPR Art. 12(3)); overdue is true for a received or in-progress request past due_at.",
            "required": [
                "id", "type", "received_at", "due_at", "due_date", "status", "overdue", "channel",
                "conversation_id", "verified", "verification_method", "case_number", "handoff_id", "has_export",
            ],
            "properties": {
                "id": _REFERENCE,
                "type": {"type": "string", "enum": _RIGHTS_TYPES},
                "received_at": TIMESTAMP,
                "due_at": TIMESTAMP,
                "due_date": DATE,
                "status": {"type": "string", "enum": _RIGHTS_STATUSES},
                "overdue": {"type": "boolean"},
                "channel": CHANNEL,
                "conversation_id": {**CONVERSATION_ID, "nullable": True},
                "verified": {"type": "boolean"},
                "verification_method": {"type": "string", "nullable": True, "enum": ["birth_date", "national_id", "unknown", None]},
                "case_number": {**CASE_NUMBER, "nullable": True},
                "handoff_id": {"type": "integer", "nullable": True},
                "has_export": {"type": "boolean"},
                "effects": {
                    "type": "object",
                    "description": "Creation only: what took effect at once (marketing_objection, handoff_id, export_id).",
                },
            },
        },
        "RightsRequestDetail": {
            "allOf": [
                _ref("RightsRequest"),
                {
                    "type": "object",
                    "properties": {
                        "request_text": {"type": "string", "nullable": True},
                        "rectification_wrong": {"type": "string", "nullable": True},
                        "rectification_right": {"type": "string", "nullable": True},
                        "exports": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"id": {"type": "integer"}, "created_at": TIMESTAMP}},
                        },
                    },
                },
            ]
        },
        "RightsRequestList": {
            "type": "object",
            "required": ["rights_requests"],
            "properties": {"rights_requests": {"type": "array", "items": _ref("RightsRequest")}},
        },
    }
)
PATHS.update(
    {
        "/api/v1/rights-requests": {
            "get": {
                "operationId": "listRightsRequests",
                "summary": "GDPR rights requests, earliest deadline first (at most 500).",
                "parameters": [
                    {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": _RIGHTS_STATUSES}},
                    {"name": "case_number", "in": "query", "required": False, "schema": CASE_NUMBER},
                    {"name": "overdue", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}},
                    *AUDIT_HEADERS,
                ],
                "responses": {
                    "200": _json(_ref("RightsRequestList"), "The requests."),
                    **COMMON_ERRORS,
                    "422": _error("A filter with an unknown value (`validation_error`)."),
                },
            },
            "post": {
                "operationId": "createRightsRequest",
                "summary": "Log a rights request; objection sets the marketing objection at once, human_review "
                "creates a handoff, access and portability produce a data export (verified requests only).",
                "parameters": AUDIT_HEADERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("RightsRequestCreate")}}},
                "responses": {
                    "201": _json(_ref("RightsRequest"), "Logged."),
                    "200": _json(_ref("RightsRequest"), "Already logged with this idempotency key."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                },
            },
        },
        "/api/v1/rights-requests/{reference}": {
            "get": {
                "operationId": "getRightsRequest",
                "summary": "One request with the debtor's words and its exports.",
                "parameters": [_REFERENCE_PARAMETER, *AUDIT_HEADERS],
                "responses": {"200": _json(_ref("RightsRequestDetail"), "The request."), **COMMON_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/rights-requests/{reference}/export": {
            "post": {
                "operationId": "createDataExport",
                "summary": "Produce the debtor's data export (again) for an access or portability request.",
                "parameters": [_REFERENCE_PARAMETER, *AUDIT_HEADERS],
                "responses": {
                    "201": _json({"type": "object", "properties": {"id": {"type": "integer"}, "created_at": TIMESTAMP}}, "Produced."),
                    **COMMON_ERRORS,
                    **_NOT_FOUND,
                    "409": _error("Not an access or portability request, or identity not confirmed."),
                },
            },
            "get": {
                "operationId": "getDataExport",
                "summary": "The latest export: JSON (format=json) or a readable text document (format=document).",
                "parameters": [
                    _REFERENCE_PARAMETER,
                    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "document"], "default": "json"}},
                    *AUDIT_HEADERS,
                ],
                "responses": {
                    "200": {
                        "description": "The export.",
                        "content": {"application/json": {"schema": {"type": "object"}}, "text/plain": {"schema": {"type": "string"}}},
                    },
                    **COMMON_ERRORS,
                    "404": _error("No such request, or no export yet (`export_not_found`)."),
                    "422": _error("Unknown format (`validation_error`)."),
                },
            },
        },
    }
)


# --- payments, postponements, disputes, fee reviews (payment_routes.py) ---------------------------

_DEBTOR_WRITE = {
    "channel": CHANNEL,
    "conversation_id": CONVERSATION_ID,
}
_PROPOSAL = {
    "monthly_amount": {
        **MONEY,
        "description": "NOK as a string of digits with at most two decimals (or whole kroner as an integer); "
        "more than 0 and at most 10000000. Anything else is a 422 on this field.",
    },
    "months": {"type": "integer", "minimum": 1, "maximum": 600},
    "first_due_date": {**DATE, "description": "Not in the past, within a year; moved to a bank day."},
}
_CASE_PATH_PARAMETERS = [{"name": "case_number", "in": "path", "required": True, "schema": CASE_NUMBER}, *AUDIT_HEADERS]
_CASE_CONFLICTS = _error(
    "The case's state does not allow it (`case_closed`, `case_disputed`, `active_plan_exists`, `nothing_to_pay`)."
)
SCHEMAS["ClaimLine"]["properties"].update(
    {
        "legal_cap": {**MONEY, "nullable": True, "description": "Fee lines: the legal cap on the day charged."},
        "over_cap": {"type": "boolean", "description": "Fee lines: above the legal cap (flag for review)."},
    }
)
SCHEMAS["Case"]["properties"].update(
    {
        "fees_over_cap": {"type": "boolean", "description": "A fee line is above its legal cap."},
        "fee_review_requested": {"type": "boolean", "description": "The case was sent for a fee review."},
    }
)
SCHEMAS.update(
    {
        "PlanProposal": {"type": "object", "properties": _PROPOSAL},
        "PlanCreateRequest": {
            "type": "object",
            "required": ["channel", "conversation_id", "accepted"],
            "properties": {
                **_PROPOSAL,
                **_DEBTOR_WRITE,
                "accepted": {"type": "boolean", "enum": [True], "description": "The debtor's explicit acceptance."},
                "language": {**LANGUAGE, "description": "Language of the SMS confirmation (default: the debtor's)."},
            },
        },
        "PlanQuote": {
            "type": "object",
            "properties": {
                "acceptable": {"type": "boolean"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [
                            "installment_below_minimum",
                            "too_many_months",
                            "first_due_too_late",
                            "covers_balance",
                        ],
                    },
                },
                "balance": MONEY,
                "fee": MONEY,
                "total": {**MONEY, "description": "balance + fee = the sum of the installments."},
                "monthly_amount": MONEY,
                "months": {"type": "integer"},
                "first_due_date": DATE,
                "installments": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"sequence": {"type": "integer"}, "due_date": DATE, "amount": MONEY}},
                },
                "estimated_interest": {**MONEY, "description": "Interest expected to accrue while the plan runs."},
                "interest_rate_percent": {"type": "string", "nullable": True},
                "interest_provisional": {"type": "boolean"},
                "alternative": {"type": "object", "nullable": True, "description": "The nearest acceptable PlanQuote."},
            },
        },
        "PlanQuoteResponse": {
            "type": "object",
            "properties": {
                "case_number": CASE_NUMBER,
                "quote": _ref("PlanQuote"),
                "policy": {
                    "type": "object",
                    "properties": {
                        "min_installment": MONEY,
                        "max_months": {"type": "integer"},
                        "first_due_latest": DATE,
                        "plan_fee": MONEY,
                        "max_postponement_days": {"type": "integer"},
                    },
                },
            },
        },
        "PlanCreated": {
            "allOf": [
                _ref("PaymentPlan"),
                {
                    "type": "object",
                    "properties": {
                        "case_number": CASE_NUMBER,
                        "confirmation": {"type": "string", "enum": ["queued", "suppressed", "no_phone", "already_sent"]},
                    },
                },
            ]
        },
        "PostponementRequest": {
            "type": "object",
            "required": ["new_due_date", "channel", "conversation_id"],
            "properties": {"new_due_date": DATE, **_DEBTOR_WRITE},
        },
        "Postponement": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "case_number": CASE_NUMBER,
                "new_due_date": DATE,
                "fee": MONEY,
                "status": {"type": "string", "enum": ["granted", "cancelled"]},
                "created_via": CHANNEL,
                "created_at": TIMESTAMP,
            },
        },
        "DisputeRequest": {
            "type": "object",
            "required": ["channel", "conversation_id"],
            "properties": {"reason": {"type": "string", "maxLength": 2000}, **_DEBTOR_WRITE},
        },
        "Dispute": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "case_number": CASE_NUMBER,
                "status": {"type": "string", "enum": ["open", "upheld", "rejected"]},
                "reason": {"type": "string"},
                "created_via": CHANNEL,
                "received_at": TIMESTAMP,
                "disputed": {"type": "boolean"},
                "collection_stopped": {"type": "boolean"},
            },
        },
        "FeeReview": {
            "type": "object",
            "properties": {
                "case_number": CASE_NUMBER,
                "fee_review_requested": {"type": "boolean"},
                "requested_at": TIMESTAMP,
                "fees_over_cap": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
)
PATHS.update(
    {
        "/api/v1/cases/{case_number}/payment-plans/quote": {
            "post": {
                "operationId": "quotePaymentPlan",
                "summary": "Terms for a plan under the creditor's policy; outside it, the problems and the nearest acceptable alternative. Writes nothing but an audit event.",
                "parameters": _CASE_PATH_PARAMETERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PlanProposal")}}},
                "responses": {
                    "200": _json(_ref("PlanQuoteResponse"), "The quote."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                    "409": _CASE_CONFLICTS,
                },
            }
        },
        "/api/v1/cases/{case_number}/payment-plans": {
            "get": {
                "operationId": "listPaymentPlans",
                "summary": "The case's payment plans with their installments.",
                "parameters": _CASE_PATH_PARAMETERS,
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"case_number": CASE_NUMBER, "payment_plans": {"type": "array", "items": _ref("PaymentPlan")}}},
                        "The plans.",
                    ),
                    **COMMON_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                },
            },
            "post": {
                "operationId": "createPaymentPlan",
                "summary": "Create the quoted plan on the debtor's acceptance, and queue an SMS confirmation to the number on file in the same transaction. Idempotent per conversation, case and terms.",
                "parameters": _CASE_PATH_PARAMETERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PlanCreateRequest")}}},
                "responses": {
                    "201": _json(_ref("PlanCreated"), "Created."),
                    "200": _json(_ref("PlanCreated"), "The same request was made before; that plan is returned."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                    "409": _CASE_CONFLICTS,
                },
            },
        },
        "/api/v1/cases/{case_number}/postponements": {
            "post": {
                "operationId": "createPostponement",
                "summary": "Postpone the payment deadline once per case, up to the policy's number of days; the date is moved to a bank day.",
                "parameters": _CASE_PATH_PARAMETERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PostponementRequest")}}},
                "responses": {
                    "201": _json(_ref("Postponement"), "Granted."),
                    "200": _json(_ref("Postponement"), "The same request was granted before."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                    "409": _error(
                        "Not for the assistant to grant (`postponement_too_long`, `postponement_already_postponed`, "
                        "with `latest_date` and `max_days`), or the case's state (`case_closed`, `case_disputed`, `active_plan_exists`)."
                    ),
                },
            }
        },
        "/api/v1/cases/{case_number}/disputes": {
            "post": {
                "operationId": "createDispute",
                "summary": "Record an objection: the case becomes disputed and collection stops. One open dispute per case.",
                "parameters": _CASE_PATH_PARAMETERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DisputeRequest")}}},
                "responses": {
                    "201": _json(_ref("Dispute"), "Recorded."),
                    "200": _json(_ref("Dispute"), "The case already had an open dispute; that one is returned."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                    "409": _error("The case is closed (`case_closed`)."),
                },
            }
        },
        "/api/v1/cases/{case_number}/fee-reviews": {
            "post": {
                "operationId": "createFeeReview",
                "summary": "Flag a case whose fee is above its legal cap for review by a caseworker.",
                "parameters": _CASE_PATH_PARAMETERS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": _DEBTOR_WRITE}}}},
                "responses": {
                    "201": _json(_ref("FeeReview"), "Flagged."),
                    "200": _json(_ref("FeeReview"), "Already flagged."),
                    **COMMON_ERRORS,
                    **BODY_ERRORS,
                    "404": _error("No such case (`case_not_found`)."),
                    "409": _error("No fee is above its cap (`no_fee_over_cap`)."),
                },
            }
        },
    }
)


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
