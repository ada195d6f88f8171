"""API errors: a machine code, an English sentence, and an HTTP status; part of the contract.

The body is `{"error": {"code": ..., "message": ..., "field": ...}}` (409s may add details such as
`latest_date`). Messages name the field at fault but never repeat the submitted value, which may
be an identity number or a birth date. The domain raises these; the HTTP layer answers with them.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API answers with `{"error": {"code": ..., "message": ...}}`."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class Conflict(ApiError):
    """409: the request is well formed but the case's state does not allow it."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(409, code, message)
        self.details = details

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"].update(self.details)
        return body


def invalid_json(message: str = "The request body is not valid JSON.") -> ApiError:
    return ApiError(400, "invalid_json", message)


def invalid_field(field: str, expected: str) -> ApiError:
    """A field (or query parameter, or header) of the wrong JSON type or form."""
    return ApiError(400, "invalid_field", f"The field '{field}' must be {expected}.", field=field)


def validation_error(field: str, problem: str) -> ApiError:
    """A well-formed request whose field fails a rule (missing, out of range, bad check digit)."""
    return ApiError(422, "validation_error", f"The field '{field}' {problem}.", field=field)


def case_not_verified() -> ApiError:
    """403: the case is not one this conversation verified (the same whether or not it exists)."""
    return ApiError(
        403, "case_not_verified", "The case number has not been verified in this conversation.", field="case_number"
    )


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "A valid bearer token is required.")


def not_found() -> ApiError:
    return ApiError(404, "not_found", "There is no such resource.")


def method_not_allowed() -> ApiError:
    return ApiError(405, "method_not_allowed", "The method is not allowed on this resource.")


def case_not_found() -> ApiError:
    return ApiError(404, "case_not_found", "No case with that case number was found.")


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")


def unsupported_media_type() -> ApiError:
    return ApiError(415, "unsupported_media_type", "The request body must be sent as application/json.")


def internal_error() -> ApiError:
    return ApiError(500, "internal_error", "The case system failed to handle the request.")
