"""Between the wire and the domain: request bodies in, JSON-ready dicts out.

Parsers check structure first (types, presence, allowed values; nothing is written when these
fail) and identity factors last, so that a malformed factor can be audited with a valid channel
and conversation id. Error messages name fields, never values.

Money goes out as strings with two decimals (`bot.config.money`), dates as ISO 8601.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping, Optional, Sequence

from bot.config import money
from bot.case_system import errors, fees, payment_deadline
from bot.case_system.claims import FEE_TYPES, ClaimLine, ClaimStatement, LineType, Payment, claim_statement
from bot.case_system.identifiers import InvalidIdentifier, normalise_digits, validate_national_id
from bot.case_system.interest import RateTable
from bot.case_system.models import (
    DEBTOR_CHANNELS,
    Case,
    CaseStage,
    CaseStatus,
    Channel,
    Handoff,
    HandoffPriority,
    HandoffStatus,
    InstallmentStatus,
    PaymentPlan,
    PaymentPlanStatus,
    PostponementStatus,
)
from bot.case_system.verification import VerificationAttempt, VerificationResult, normalise_phone

CASE_NUMBER = re.compile(r"[0-9]{6,8}")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.:@+=/-]{1,200}")
HANDOFF_REASON = re.compile(r"[a-z][a-z0-9_]{0,31}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Eleven digits, optionally written 6+5 with a space, dot or dash: a possible identity number.
POSSIBLE_NATIONAL_ID = re.compile(r"(?<![0-9])[0-9]{6}[ .\-]?[0-9]{5}(?![0-9])")
NATIONAL_ID_PLACEHOLDER = "[national-id]"

MAX_SUMMARY_CHARS = 4000
MAX_TRANSCRIPT_MESSAGES = 500
MAX_MESSAGE_CHARS = 4000
CHANNEL_NAMES = ", ".join(channel.value for channel in DEBTOR_CHANNELS)


# --- request bodies ------------------------------------------------------------------------------

_MISSING = object()


def _field(body: Mapping[str, Any], name: str, *, required: bool) -> Any:
    """The raw value of `name`; None when absent or null and not required."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise errors.validation_error(name, "is required")
        return None
    return value


def _string(body: Mapping[str, Any], name: str, *, required: bool) -> Optional[str]:
    value = _field(body, name, required=required)
    if value is not None and not isinstance(value, str):
        raise errors.invalid_field(name, "a string")
    return value


def _choice(body: Mapping[str, Any], name: str, choices: Sequence[str], *, default: Optional[str] = None) -> str:
    value = _string(body, name, required=default is None)
    if value is None:
        return default  # type: ignore[return-value]
    if value not in choices:
        raise errors.validation_error(name, "must be one of " + ", ".join(choices))
    return value


def _conversation_id(body: Mapping[str, Any]) -> str:
    value = _string(body, "conversation_id", required=True)
    if not CONVERSATION_ID.fullmatch(value):
        raise errors.validation_error(
            "conversation_id", "must be 1 to 200 letters, digits or the characters _ . : @ + = / -"
        )
    return value


def parse_case_number(value: str) -> Optional[str]:
    """The case number's 6 to 8 digits (spaces, dots and dashes removed), or None."""
    try:
        digits = normalise_digits(value)
    except InvalidIdentifier:
        return None
    return digits if CASE_NUMBER.fullmatch(digits) else None


class RejectedIdentityInput(errors.ApiError):
    """A malformed identity factor: answered with 422, audited as `rejected_input`, not counted."""

    def __init__(self, field: str, problem: str, attempt_context: dict[str, Any]) -> None:
        super().__init__(422, "validation_error", f"The field '{field}' {problem}.", field=field)
        self.case_number: Optional[str] = attempt_context.get("case_number")
        self.channel: Channel = attempt_context["channel"]
        self.conversation_id: str = attempt_context["conversation_id"]


def parse_verification(body: Mapping[str, Any], *, today: date, allow_synthetic: bool) -> VerificationAttempt:
    """A `VerificationAttempt` from a `POST /verifications` body, or an `ApiError`."""
    # Structure first: nothing about these failures is written anywhere.
    raw_case_number = _string(body, "case_number", required=True)
    channel = Channel(_choice(body, "channel", [channel.value for channel in DEBTOR_CHANNELS]))
    conversation_id = _conversation_id(body)
    raw_birth_date = _string(body, "birth_date", required=False)
    raw_national_id = _string(body, "national_id", required=False)
    raw_phone = _string(body, "phone", required=False)
    if raw_birth_date is None and raw_national_id is None:
        raise errors.validation_error("birth_date", "is required when 'national_id' is not given")
    if raw_birth_date is not None and raw_national_id is not None:
        raise errors.validation_error("national_id", "must not be given together with 'birth_date'")
    phone = None
    if channel is Channel.SMS:
        if raw_phone is None:
            raise errors.validation_error("phone", "is required on the sms channel")
        try:
            phone = normalise_phone(raw_phone)
        except ValueError:
            raise errors.validation_error("phone", "must be a phone number in E.164 form") from None

    # Then the identity factors: a malformed one is audited (without its value), not counted.
    context: dict[str, Any] = {"channel": channel, "conversation_id": conversation_id}
    case_number = parse_case_number(raw_case_number)
    if case_number is None:
        raise RejectedIdentityInput("case_number", "must be a case number of 6 to 8 digits", context)
    context["case_number"] = case_number
    birth_date = national_id = None
    if raw_birth_date is not None:
        birth_date = _parse_birth_date(raw_birth_date, today=today, context=context)
    else:
        try:
            national_id = validate_national_id(raw_national_id, allow_synthetic=allow_synthetic)
        except InvalidIdentifier:
            raise RejectedIdentityInput(
                "national_id", "must be a valid national identity number", context
            ) from None
    return VerificationAttempt(
        case_number=case_number,
        channel=channel,
        conversation_id=conversation_id,
        birth_date=birth_date,
        national_id=national_id,
        phone=phone,
    )


def _parse_birth_date(value: str, *, today: date, context: dict[str, Any]) -> date:
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise RejectedIdentityInput("birth_date", "must be a date in the form YYYY-MM-DD", context) from None
    if parsed > today:
        raise RejectedIdentityInput("birth_date", "must not be in the future", context)
    return parsed


def parse_handoff(body: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new `Handoff` from a `POST /handoffs` body, or an `ApiError`."""
    conversation_id = _conversation_id(body)
    channel = _choice(body, "channel", [channel.value for channel in DEBTOR_CHANNELS])
    reason = _string(body, "reason", required=True)
    if not HANDOFF_REASON.fullmatch(reason):
        raise errors.validation_error("reason", "must be a lower-case code such as 'requested'")
    priority = _choice(body, "priority", [priority.value for priority in HandoffPriority], default="normal")
    raw_case_number = _string(body, "case_number", required=False)
    case_number = None
    if raw_case_number is not None:
        case_number = parse_case_number(raw_case_number)
        if case_number is None:
            raise errors.validation_error("case_number", "must be a case number of 6 to 8 digits")
    summary = _string(body, "summary", required=False) or ""
    if len(summary) > MAX_SUMMARY_CHARS:
        raise errors.validation_error("summary", f"must be at most {MAX_SUMMARY_CHARS} characters")
    transcript = _parse_transcript(_field(body, "transcript", required=False))
    return {
        "conversation_id": conversation_id,
        "channel": Channel(channel),
        "reason": reason,
        "priority": HandoffPriority(priority),
        "case_number": case_number,
        "summary": redact_national_ids(summary),
        "transcript": transcript,
    }


def _parse_transcript(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.invalid_field("transcript", "a list of messages")
    if len(value) > MAX_TRANSCRIPT_MESSAGES:
        raise errors.validation_error("transcript", f"must have at most {MAX_TRANSCRIPT_MESSAGES} messages")
    messages = []
    for index, message in enumerate(value):
        name = f"transcript[{index}]"
        if not isinstance(message, dict):
            raise errors.invalid_field(name, "an object with 'sender', 'text' and 'at'")
        sender = _nested_string(message, "sender", name)
        if sender not in ("user", "bot"):
            raise errors.validation_error(f"{name}.sender", "must be one of user, bot")
        text = _nested_string(message, "text", name)
        if len(text) > MAX_MESSAGE_CHARS:
            raise errors.validation_error(f"{name}.text", f"must be at most {MAX_MESSAGE_CHARS} characters")
        at = _timestamp_text(_nested_string(message, "at", name), f"{name}.at")
        messages.append({"sender": sender, "text": redact_national_ids(text), "at": at})
    return messages


def _nested_string(message: Mapping[str, Any], key: str, parent: str) -> str:
    value = message.get(key)
    if value is None:
        raise errors.validation_error(f"{parent}.{key}", "is required")
    if not isinstance(value, str):
        raise errors.invalid_field(f"{parent}.{key}", "a string")
    return value


def _timestamp_text(value: str, name: str) -> str:
    """An ISO 8601 timestamp with an offset, normalised to UTC."""
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise errors.validation_error(name, "must be an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise errors.validation_error(name, "must be an ISO 8601 timestamp with a time zone offset")
    return timestamp(parsed)


def redact_national_ids(text: str) -> str:
    """`text` with valid national identity numbers replaced (caseworkers never need them).

    Only numbers that pass the check digits are replaced, so account numbers and KIDs survive.
    """

    def replace(match: re.Match[str]) -> str:
        try:
            validate_national_id(match.group(0), allow_synthetic=True)
        except InvalidIdentifier:
            return match.group(0)
        return NATIONAL_ID_PLACEHOLDER

    return POSSIBLE_NATIONAL_ID.sub(replace, text)


# --- responses -----------------------------------------------------------------------------------


def timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def _iso(value: Optional[date]) -> Optional[str]:
    return None if value is None else value.isoformat()


def verification_json(result: VerificationResult) -> dict[str, Any]:
    if result.verified:
        return {
            "verified": True,
            "debtor": {"first_name": result.first_name, "language": result.language},
            "case_numbers": list(result.case_numbers),
            "verified_case_number": result.verified_case_number,
        }
    body: dict[str, Any] = {"verified": False, "outcome": result.outcome.value}
    if result.locked_until is not None:
        body["locked_until"] = timestamp(result.locked_until)
    return body


def statement_date(case: Case, today: date) -> date:
    """The date a case's claim is computed at: today, or the day a closed case was closed."""
    if case.status is CaseStatus.CLOSED and case.closed_on is not None:
        return min(today, case.closed_on)
    return today


def case_statement(case: Case, *, as_of: date, rates: RateTable) -> ClaimStatement:
    """The claim of `case` on `as_of`: principal, interest computed now, fees and payments."""
    fees = [
        ClaimLine(type=line.line_type, amount=line.amount, description=line.description, from_date=line.charged_on)
        for line in case.claim_lines
    ]
    payments = [Payment(paid_on=payment.paid_on, amount=payment.amount) for payment in case.payments]
    return claim_statement(
        principal=case.principal,
        due_date=case.due_date,
        fees=fees,
        payments=payments,
        as_of=as_of,
        rates=rates,
        principal_description=case.description,
    )


def _line_json(line: ClaimLine, check: Optional[fees.FeeCheck] = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": LineType(line.type).value,
        "amount": money(line.amount),
        "description": line.description,
        "from_date": _iso(line.from_date),
        "to_date": _iso(line.to_date),
    }
    if line.rate_percent is not None:
        body["rate_percent"] = f"{Decimal(line.rate_percent):.2f}"
    body["provisional"] = bool(line.provisional)
    if line.type in FEE_TYPES:
        # The legal cap on the day charged; a fee above it is flagged for review, never defended.
        body["legal_cap"] = None if check is None else money(check.cap)
        body["over_cap"] = bool(check is not None and check.over_cap)
    return body


def payment_plan_json(plan: PaymentPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "status": plan.status.value,
        "monthly_amount": money(plan.monthly_amount),
        "fee": money(plan.fee),
        "created_via": plan.created_via.value,
        "created_at": timestamp(plan.created_at),
        "installments": [
            {
                "sequence": installment.sequence,
                "due_date": installment.due_date.isoformat(),
                "amount": money(installment.amount),
                "status": installment.status.value,
            }
            for installment in plan.installments
        ],
    }


def active_plan(case: Case) -> Optional[PaymentPlan]:
    return next((plan for plan in case.payment_plans if plan.status is PaymentPlanStatus.ACTIVE), None)


def case_pay_by(case: Case, statement: ClaimStatement, *, today: date, rates: RateTable) -> payment_deadline.PayBy:
    """What the debtor must pay on `case`, and by when (payment_deadline.pay_by).

    Interest runs until the claim is paid, so a balance to be paid by a later date is the claim
    as it will stand on that date: paying exactly that amount on the date settles the case.
    """
    plan = active_plan(case)
    unpaid = () if plan is None else tuple(
        payment_deadline.DueInstallment(due_date=item.due_date, amount=item.amount)
        for item in plan.installments
        if item.status is not InstallmentStatus.PAID
    )
    granted = [item for item in case.postponements if item.status is PostponementStatus.GRANTED]
    pay_by = payment_deadline.pay_by(
        stage=case.stage,
        balance=statement.balance,
        today=today,
        notice_sent_on=case.notice_sent_on,
        unpaid_installments=unpaid,
        postponed_to=granted[-1].new_due_date if granted else None,
        collection_stopped=case.disputed or case.collection_stopped,
        closed=case.status is CaseStatus.CLOSED,
    )
    if pay_by.basis in payment_deadline.BALANCE_BASES and pay_by.date is not None and pay_by.date > today:
        pay_by = dataclasses.replace(pay_by, amount=case_statement(case, as_of=pay_by.date, rates=rates).balance)
    return pay_by


def pay_by_json(pay_by: payment_deadline.PayBy) -> dict[str, Any]:
    return {
        "date": _iso(pay_by.date),
        "amount": money(pay_by.amount),
        "basis": pay_by.basis.value,
        "passed": pay_by.passed,
    }


def case_json(case: Case, statement: ClaimStatement, *, as_of: date, rates: RateTable) -> dict[str, Any]:
    open_plan = active_plan(case)
    fee_lines = [line for line in statement.lines if line.type in FEE_TYPES]
    checks = fees.check_case_fees(
        fee_lines, principal=case.principal, heavy_allowed=case.stage is CaseStage.LEGAL_COLLECTION
    )
    check_of = {id(line): check for line, check in zip(fee_lines, checks)}
    return {
        "case_number": case.case_number,
        "status": case.status.value,
        "stage": case.stage.value,
        "creditor": {"name": case.creditor.name, "org_number": case.creditor.org_number},
        "invoice": {
            "number": case.invoice_number,
            "date": case.invoice_date.isoformat(),
            "due_date": case.due_date.isoformat(),
            "amount": money(case.principal),
            "description": case.description,
        },
        "kid": case.kid,
        "as_of": as_of.isoformat(),
        "lines": [_line_json(line, check_of.get(id(line))) for line in statement.lines],
        "payments": [{"paid_on": p.paid_on.isoformat(), "amount": money(p.amount)} for p in statement.payments],
        "total_claimed": money(statement.total_claimed),
        "total_paid": money(statement.total_paid),
        "balance": money(statement.balance),
        "overpaid": money(statement.overpaid),
        "provisional_interest": bool(statement.provisional_interest),
        "disputed": case.disputed,
        "collection_stopped": case.collection_stopped,
        "fees_over_cap": any(check is not None and check.over_cap for check in checks),
        "fee_review_requested": case.fee_review_requested_at is not None,
        "debtor": {"first_name": case.debtor.first_name, "language": case.debtor.language.value},
        "open_payment_plan": None if open_plan is None else payment_plan_json(open_plan),
        "notice_sent_on": _iso(case.notice_sent_on),
        # as_of is today for an open case; a closed one has nothing to pay by any day.
        "pay_by": pay_by_json(case_pay_by(case, statement, today=as_of, rates=rates)),
    }


def handoff_json(handoff: Handoff) -> dict[str, Any]:
    return {
        "id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "channel": handoff.channel.value,
        "reason": handoff.reason,
        "priority": handoff.priority.value,
        "status": handoff.status.value,
        "case_number": handoff.case_number,
        "summary": handoff.summary,
        "transcript": handoff.transcript,
        "created_at": timestamp(handoff.created_at),
    }


HANDOFF_STATUS_NAMES = [status.value for status in HandoffStatus]
