"""`POST /verifications`: a debtor's identity, checked by the case system (domain/verification.py)."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.fields import case_number_as_typed
from bot.case_system.contract.requests import VerificationRequest
from bot.case_system.contract.responses import DebtorSummary, VerificationRefused, VerificationVerified
from bot.case_system.domain import verification
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.routes.answers import BAD_BODY, UNAUTHORIZED


async def create_verification(call: Call) -> web.Response:
    system = call.system
    raw = await call.json_object()
    context = call.audit_context()
    body = call.parse_body(raw)
    try:
        result = await verification.check_identity(
            call.session, body, now=call.now(), settings=system.settings, context=context
        )
    except verification.RejectedIdentityInput as rejected:
        call.log_case_number(rejected.case_number)
        raise
    call.log_case_number(case_number_as_typed(body.case_number))
    if result.verified:
        return call.respond(
            VerificationVerified(
                verified=True,
                debtor=DebtorSummary(first_name=result.first_name, language=result.language),
                case_numbers=list(result.case_numbers),
                verified_case_number=result.verified_case_number,
            )
        )
    refused = {"verified": False, "outcome": result.outcome.value}
    if result.locked_until is not None:
        refused["locked_until"] = result.locked_until
    return call.respond(VerificationRefused(**refused))


ENDPOINTS = [
    Endpoint(
        "POST",
        "/verifications",
        create_verification,
        name="verifications",
        operation_id="verifyIdentity",
        summary="Check a debtor's identity: case number plus birth date or national identity number.",
        description="Attempts are counted per case number as typed (also for case numbers that do not exist) and "
        "per debtor; after the configured number of attempts (3) without a success the case number, and every case "
        "of its debtor, is locked for the configured time (30 minutes) on every channel, also against attempts made "
        "at the same moment. Every attempt is audited without the values tried. A malformed factor is answered with "
        "422, audited as rejected_input, and not counted.",
        body=VerificationRequest,
        answers={
            200: Answer(
                (VerificationVerified, VerificationRefused), "Verified, or a uniform refusal (`refused` or `locked`)."
            ),
            **UNAUTHORIZED,
            **BAD_BODY,
        },
    ),
]
