"""Case-system API for the SMS channel: inbound deduplication and consent, the outbox, and
delivery status from the provider.

The dialogue server's SMS channel calls these; the backoffice's delivery loop
(`bot.outbound_sms`) sends what is enqueued. Audit events name the action and outcome, never the
number or the text.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Optional

import sqlalchemy as sa
from aiohttp import web

from bot.case_system import audit, errors, outbox, sms
from bot.case_system.api import API_PREFIX, CASE_SYSTEM, json_response, read_json_object, _session
from bot.case_system.verification import normalise_phone

# Set by the backoffice when it runs the delivery loop: enqueuing wakes it at once.
OUTBOX_SIGNAL = web.AppKey("outbox_signal", asyncio.Event)

PROVIDER_ID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}")  # Twilio SIDs: two letters, 32 hex digits
PURPOSE = re.compile(r"[a-z_]{1,64}")
FAILED_STATUSES = {"failed", "undelivered"}
DELIVERED_STATUSES = {"sent", "delivered", "read"}
PROVIDER_STATUSES = ("queued", "accepted", "scheduled", "sending", "sent", "delivered", "read", "failed", "undelivered", "canceled")


def _required_string(body: dict[str, Any], name: str, *, max_length: int, allow_empty: bool = False) -> str:
    value = body.get(name)
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise errors.invalid_field(name, "a string")
    if (not value and not allow_empty) or len(value) > max_length:
        raise errors.validation_error(name, f"must be 1 to {max_length} characters")
    return value


def _optional_string(body: dict[str, Any], name: str, *, max_length: int) -> Optional[str]:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise errors.invalid_field(name, f"a string of at most {max_length} characters")
    return value


def _provider_id(body: dict[str, Any], name: str) -> str:
    value = _required_string(body, name, max_length=34)
    if not PROVIDER_ID.fullmatch(value):
        raise errors.validation_error(name, "must be a provider message id (two letters and 32 hex digits)")
    return value


def _phone(body: dict[str, Any], name: str) -> str:
    value = _required_string(body, name, max_length=32)
    try:
        return normalise_phone(value)
    except ValueError:
        raise errors.validation_error(name, "must be a phone number in E.164 form") from None


async def record_inbound(request: web.Request) -> web.Response:
    """Deduplicate an inbound SMS and apply a consent keyword; say what the channel should do."""
    system = request.app[CASE_SYSTEM]
    body = await read_json_object(request)
    message_sid = _provider_id(body, "message_sid")
    phone = _phone(body, "from_phone")
    text = _required_string(body, "body", max_length=outbox.MAX_SMS_CHARACTERS, allow_empty=True)
    opt_out_type = _optional_string(body, "opt_out_type", max_length=16)
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    now = system.clock()

    first_time = await sms.first_time_seen(session, message_sid, now=now)
    change = sms.consent_change(text, opt_out_type) if first_time else None
    if change is not None:
        await sms.apply_consent_change(session, phone, change, now=now)
    opted_out = await sms.is_opted_out(session, phone)
    audit.record(
        session,
        context,
        at=now,
        action="sms.inbound",
        subject_type="sms",
        subject_id=message_sid,
        outcome="duplicate" if not first_time else (change.value if change else "accepted"),
        channel="sms",
    )
    await session.commit()
    return json_response(
        {"duplicate": not first_time, "consent": change.value if change else None, "opted_out": opted_out}
    )


async def enqueue(request: web.Request) -> web.Response:
    """Put an SMS in the outbox; an opted-out recipient's message is stored as suppressed."""
    system = request.app[CASE_SYSTEM]
    body = await read_json_object(request)
    phone = _phone(body, "to_phone")
    text = _required_string(body, "body", max_length=outbox.MAX_SMS_CHARACTERS)
    purpose = _required_string(body, "purpose", max_length=64)
    if not PURPOSE.fullmatch(purpose):
        raise errors.validation_error("purpose", "must be lowercase letters and underscores")
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    now = system.clock()
    suppressed = await sms.is_opted_out(session, phone)
    message = outbox.enqueue_sms(session, to_phone=phone, body=text, purpose=purpose, now=now, suppressed=suppressed)
    await session.flush()
    audit.record(
        session,
        context,
        at=now,
        action="sms.enqueue",
        subject_type="outbound_message",
        subject_id=str(message.id),
        outcome=message.status.value,
        channel="sms",
    )
    await session.commit()
    signal = request.app.get(OUTBOX_SIGNAL)
    if signal is not None:
        signal.set()
    return json_response({"id": message.id, "status": message.status.value}, status=201)


async def record_status(request: web.Request) -> web.Response:
    """The provider's delivery report: a failure after acceptance marks the message failed."""
    system = request.app[CASE_SYSTEM]
    body = await read_json_object(request)
    provider_id = _provider_id(body, "provider_id")
    status = _required_string(body, "status", max_length=16)
    if status not in PROVIDER_STATUSES:
        raise errors.validation_error("status", "must be one of " + ", ".join(PROVIDER_STATUSES))
    error_code = _optional_string(body, "error_code", max_length=32)
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    now = system.clock()
    query = sa.select(outbox.OutboundMessage).where(outbox.OutboundMessage.provider_id == provider_id)
    message = (await session.execute(query)).scalar_one_or_none()
    if message is None:
        raise errors.ApiError(404, "message_not_found", "No outbound message has that provider id.")
    if status in FAILED_STATUSES:
        message.status = outbox.OutboundStatus.FAILED
        message.error_code = error_code or status
    elif status in DELIVERED_STATUSES and message.status is outbox.OutboundStatus.SENT:
        message.sent_at = message.sent_at or now
    audit.record(
        session,
        context,
        at=now,
        action="sms.delivery_status",
        subject_type="outbound_message",
        subject_id=str(message.id),
        outcome=status,
        channel="sms",
    )
    await session.commit()
    return json_response({"id": message.id, "status": message.status.value})


ROUTES = [
    web.post(f"{API_PREFIX}/sms/inbound", record_inbound, name="sms_inbound"),
    web.post(f"{API_PREFIX}/sms/outbox", enqueue, name="sms_outbox"),
    web.post(f"{API_PREFIX}/sms/status", record_status, name="sms_status"),
]
