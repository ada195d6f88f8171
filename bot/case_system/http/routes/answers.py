"""Answers many endpoints share, for the route tables. `Answer(None, ...)` is an error body
(contract.responses.Error)."""

from __future__ import annotations

from bot.case_system.contract.fields import CASE_NUMBER
from bot.case_system.http.context import Answer

UNAUTHORIZED = {401: Answer(None, "Missing or wrong bearer token (`unauthorized`).")}
BAD_BODY = {
    400: Answer(
        None,
        "Body is not a JSON object (`invalid_json`), a field has the wrong type or a header is malformed (`invalid_field`).",
    ),
    413: Answer(None, "Body larger than 64 KiB (`payload_too_large`)."),
    415: Answer(None, "Body not sent as application/json (`unsupported_media_type`)."),
    422: Answer(None, "A field is missing or breaks a rule (`validation_error`; names the field, never the value)."),
}
BAD_HEADER = {400: Answer(None, "A malformed audit header (`invalid_field`).")}
NO_CASE = {404: Answer(None, "No such case, or not a case number (`case_not_found`).")}
CASE_STATE = Answer(
    None, "The case's state does not allow it (`case_closed`, `case_disputed`, `active_plan_exists`, `nothing_to_pay`)."
)
CASE_PATH = {"case_number": {"type": "string", "pattern": f"^{CASE_NUMBER.pattern}$", "example": "100001"}}
