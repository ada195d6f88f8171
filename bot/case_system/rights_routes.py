"""API for GDPR rights requests: log one, list and read them, produce and read a data export.

A request names a case only when the case system itself has seen this conversation verify that
case (an `identity.verify` audit event with outcome `verified`): the caller cannot make a request
"verified" by saying so. Every read and every change is audited, without values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.case_system import audit, data_export, errors, handoffs, rights_requests, serializers
from bot.case_system.api import (
    API_PREFIX,
    CASE_SYSTEM,
    LOGGED_CASE_NUMBER_KEY,
    SESSION_KEY,
    json_response,
    oslo_date,
    read_json_object,
)
from bot.case_system.models import (
    DEBTOR_CHANNELS,
    AuditEvent,
    Case,
    Channel,
    DataExport,
    Debtor,
    HandoffPriority,
    RightsRequest,
    RightsRequestStatus,
    RightsRequestType,
)
from bot.case_system.verification import AUDIT_ACTION as VERIFY_ACTION

TYPE_NAMES = [kind.value for kind in RightsRequestType]
STATUS_NAMES = [status.value for status in RightsRequestStatus]
MAX_TEXT_CHARS = 4000
MAX_LISTED = 500
REFERENCE_ATTEMPTS = 5
# A conversation's verification is trusted for a request made within this time of it. The
# dialogue's own session ends sooner (30 idle minutes); this only bounds what the API accepts.
VERIFICATION_VALID_FOR = timedelta(hours=12)


def _session(request: web.Request) -> AsyncSession:
    return request[SESSION_KEY]


# --- request bodies ------------------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str) -> Optional[str]:
    value = serializers._string(body, name, required=False)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT_CHARS:
        raise errors.validation_error(name, f"must be at most {MAX_TEXT_CHARS} characters")
    return serializers.redact_national_ids(value.strip())


def parse_rights_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a new request from a `POST /rights-requests` body, or an `ApiError`."""
    kind = RightsRequestType(serializers._choice(body, "type", TYPE_NAMES))
    channel = Channel(serializers._choice(body, "channel", [channel.value for channel in DEBTOR_CHANNELS]))
    conversation_id = serializers._conversation_id(body)
    raw_case_number = serializers._string(body, "case_number", required=False)
    case_number = None
    if raw_case_number is not None:
        case_number = serializers.parse_case_number(raw_case_number)
        if case_number is None:
            raise errors.validation_error("case_number", "must be a case number of 6 to 8 digits")
    wrong, right = _text(body, "rectification_wrong"), _text(body, "rectification_right")
    if (wrong or right) and kind is not RightsRequestType.RECTIFICATION:
        field = "rectification_wrong" if wrong else "rectification_right"
        raise errors.validation_error(field, "is only for rectification requests")
    idempotency_key = serializers._string(body, "idempotency_key", required=False)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
        raise errors.validation_error("idempotency_key", "must be 1 to 100 characters")
    return {
        "type": kind,
        "channel": channel,
        "conversation_id": conversation_id,
        "case_number": case_number,
        "request_text": _text(body, "request_text"),
        "rectification_wrong": wrong,
        "rectification_right": right,
        "idempotency_key": idempotency_key,
        "transcript": serializers._parse_transcript(serializers._field(body, "transcript", required=False)),
    }


# --- responses -----------------------------------------------------------------------------------


def rights_request_json(item: RightsRequest, *, now: datetime, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": item.reference,
        "type": item.type.value,
        "received_at": serializers.timestamp(item.received_at),
        "due_at": serializers.timestamp(item.due_at),
        "due_date": rights_requests.due_date(item.received_at).isoformat(),
        "status": item.status.value,
        "overdue": rights_requests.is_overdue(item.status, item.due_at, now),
        "channel": item.channel.value,
        "conversation_id": item.conversation_id,
        "verified": item.verified,
        "verification_method": item.verification_method,
        "case_number": item.case.case_number if item.case is not None else None,
        "handoff_id": item.handoff_id,
        "has_export": bool(item.exports),
    }
    if detail:
        body.update(
            request_text=item.request_text,
            rectification_wrong=item.rectification_wrong,
            rectification_right=item.rectification_right,
            exports=[{"id": export.id, "created_at": serializers.timestamp(export.created_at)} for export in item.exports],
        )
    return body


# --- queries -------------------------------------------------------------------------------------


def _with_links(query):
    return query.options(selectinload(RightsRequest.case), selectinload(RightsRequest.exports))


async def _by_reference(session: AsyncSession, raw: str) -> RightsRequest:
    reference = rights_requests.normalise_reference(raw)
    found = None
    if reference is not None:
        query = _with_links(sa.select(RightsRequest).where(RightsRequest.reference == reference))
        found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise errors.ApiError(404, "rights_request_not_found", "No rights request with that reference was found.")
    return found


async def verification_method(
    session: AsyncSession, *, conversation_id: str, case_number: str, now: datetime
) -> Optional[str]:
    """How this conversation verified this case number recently, or None if it did not."""
    query = (
        sa.select(AuditEvent.detail)
        .where(
            AuditEvent.action == VERIFY_ACTION,
            AuditEvent.outcome == "verified",
            AuditEvent.subject_id == case_number,
            AuditEvent.conversation_id == conversation_id,
            AuditEvent.at >= now - VERIFICATION_VALID_FOR,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return row.detail if row.detail in rights_requests.VERIFICATION_METHODS else "unknown"


# --- handlers ------------------------------------------------------------------------------------


async def create_rights_request(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    body = await read_json_object(request)
    context = audit.context_from_headers(request.headers)
    fields = parse_rights_request(body)
    request[LOGGED_CASE_NUMBER_KEY] = fields["case_number"]
    session = _session(request)
    now = system.clock()

    if fields["idempotency_key"] is not None:
        query = _with_links(sa.select(RightsRequest).where(RightsRequest.idempotency_key == fields["idempotency_key"]))
        existing = (await session.execute(query)).scalar_one_or_none()
        if existing is not None:
            return json_response({**rights_request_json(existing, now=now), "effects": {}}, status=200)

    case = None
    method = None
    if fields["case_number"] is not None:
        method = await verification_method(
            session, conversation_id=fields["conversation_id"], case_number=fields["case_number"], now=now
        )
        case_query = sa.select(Case).where(Case.case_number == fields["case_number"])
        case = (await session.execute(case_query)).scalar_one_or_none() if method else None
        if case is None:
            # Same answer whether or not the case exists: nothing is learnt by guessing.
            raise errors.validation_error("case_number", "has not been verified in this conversation")
    verified = case is not None
    kind: RightsRequestType = fields["type"]
    effects = rights_requests.effects_of(kind, verified=verified)

    item = RightsRequest(
        type=kind,
        received_at=now,
        due_at=rights_requests.due_at(now),
        status=rights_requests.initial_status(effects),
        channel=fields["channel"],
        conversation_id=fields["conversation_id"],
        verified=verified,
        verification_method=method if verified else None,
        case_id=case.id if case else None,
        debtor_id=case.debtor_id if case else None,
        request_text=fields["request_text"],
        rectification_wrong=fields["rectification_wrong"],
        rectification_right=fields["rectification_right"],
        idempotency_key=fields["idempotency_key"],
    )
    for _ in range(REFERENCE_ATTEMPTS):
        item.reference = rights_requests.new_reference()
        taken = await session.execute(sa.select(RightsRequest.id).where(RightsRequest.reference == item.reference))
        if taken.first() is None:
            break
    session.add(item)
    await session.flush()
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.create",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome="created",
        channel=item.channel.value,
        conversation_id=item.conversation_id,
        detail=kind.value,
    )

    applied: dict[str, Any] = {}
    if effects.set_marketing_objection:
        debtor = await session.get(Debtor, case.debtor_id)
        debtor.marketing_objection = True
        applied["marketing_objection"] = True
        audit.record(
            session,
            context,
            at=now,
            action="debtor.marketing_objection",
            subject_type="debtor",
            subject_id=str(debtor.id),
            outcome="set",
            channel=item.channel.value,
            conversation_id=item.conversation_id,
            detail=item.reference,
        )
    if effects.create_handoff:
        handoff, _created = await handoffs.create_handoff(
            session,
            {
                "conversation_id": item.conversation_id,
                "channel": item.channel,
                "reason": "human_review",
                "priority": HandoffPriority.NORMAL,
                "case_number": case.case_number if case else None,
                "summary": f"Rights request {item.reference}: human review of an automated decision (GDPR Art. 22). "
                f"Identity {'verified' if verified else 'not yet confirmed'}. Due {rights_requests.due_date(now)}.",
                "transcript": fields["transcript"],
            },
            now=now,
        )
        item.handoff_id = handoff.id
        applied["handoff_id"] = handoff.id
    if effects.produce_export:
        export = await _produce_export(request, session, item, context=context, now=now)
        applied["export_id"] = export.id

    try:
        await session.commit()
    except IntegrityError:
        # A concurrent retry with the same idempotency key won the race.
        await session.rollback()
        raise errors.ApiError(409, "conflict", "The request was already logged; retry to read it.") from None
    query = _with_links(sa.select(RightsRequest).where(RightsRequest.id == item.id)).execution_options(
        populate_existing=True
    )
    item = (await session.execute(query)).scalar_one()
    return json_response({**rights_request_json(item, now=now), "effects": applied}, status=201)


async def _produce_export(
    request: web.Request, session: AsyncSession, item: RightsRequest, *, context: audit.AuditContext, now: datetime
) -> DataExport:
    system = request.app[CASE_SYSTEM]
    debtor = await data_export.load_debtor(session, item.debtor_id)
    data = await data_export.collect(
        session,
        debtor,
        request=item,
        now=now,
        today=oslo_date(now),
        rates=system.rates,
        tracker_url=system.settings.tracker_store_url,
    )
    export = DataExport(
        rights_request_id=item.id,
        created_at=now,
        created_by=context.actor,
        data=data,
        document=data_export.render_document(data),
    )
    session.add(export)
    await session.flush()
    audit.record(
        session,
        context,
        at=now,
        action="data_export.create",
        subject_type="debtor",
        subject_id=str(debtor.id),
        outcome="created",
        conversation_id=item.conversation_id,
        detail=item.reference,
    )
    return export


def _parse_filters(query: Mapping[str, str]) -> dict[str, Any]:
    status = query.get("status")
    if status is not None and status not in STATUS_NAMES:
        raise errors.validation_error("status", "must be one of " + ", ".join(STATUS_NAMES))
    case_number = query.get("case_number")
    if case_number is not None:
        case_number = serializers.parse_case_number(case_number)
        if case_number is None:
            raise errors.validation_error("case_number", "must be a case number of 6 to 8 digits")
    overdue = query.get("overdue")
    if overdue is not None and overdue not in ("true", "false"):
        raise errors.validation_error("overdue", "must be true or false")
    return {"status": status, "case_number": case_number, "overdue": None if overdue is None else overdue == "true"}


async def list_rights_requests(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    filters = _parse_filters(request.query)
    request[LOGGED_CASE_NUMBER_KEY] = filters["case_number"]
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    now = system.clock()
    query = _with_links(sa.select(RightsRequest)).order_by(RightsRequest.due_at, RightsRequest.id).limit(MAX_LISTED)
    if filters["status"] is not None:
        query = query.where(RightsRequest.status == RightsRequestStatus(filters["status"]))
    if filters["case_number"] is not None:
        query = query.join(Case, RightsRequest.case_id == Case.id).where(Case.case_number == filters["case_number"])
    if filters["overdue"] is not None:
        open_and_late = sa.and_(RightsRequest.status.in_(rights_requests.OPEN_STATUSES), RightsRequest.due_at < now)
        query = query.where(open_and_late if filters["overdue"] else sa.not_(open_and_late))
    found = list((await session.execute(query)).scalars())
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.list",
        subject_type="rights_request",
        subject_id=filters["case_number"],
        outcome="ok",
        detail=f"status={filters['status'] or 'any'}",
    )
    await session.commit()
    return json_response({"rights_requests": [rights_request_json(item, now=now) for item in found]})


async def get_rights_request(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    item = await _by_reference(session, request.match_info["reference"])
    now = system.clock()
    audit.record(
        session, context, at=now, action="rights_request.read", subject_type="rights_request",
        subject_id=item.reference, outcome="ok",
    )
    await session.commit()
    return json_response(rights_request_json(item, now=now, detail=True))


async def create_export(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    item = await _by_reference(session, request.match_info["reference"])
    if item.type not in rights_requests.EXPORT_TYPES:
        raise errors.ApiError(409, "export_not_applicable", "Only access and portability requests have an export.")
    if item.debtor_id is None:
        raise errors.ApiError(
            409, "identity_not_confirmed", "The requester's identity is not confirmed; nothing can be exported."
        )
    now = system.clock()
    export = await _produce_export(request, session, item, context=context, now=now)
    if item.status is RightsRequestStatus.RECEIVED:
        item.status = RightsRequestStatus.IN_PROGRESS
    await session.commit()
    return json_response({"id": export.id, "created_at": serializers.timestamp(export.created_at)}, status=201)


async def get_export(request: web.Request) -> web.StreamResponse:
    system = request.app[CASE_SYSTEM]
    form = request.query.get("format", "json")
    if form not in ("json", "document"):
        raise errors.validation_error("format", "must be json or document")
    context = audit.context_from_headers(request.headers)
    session = _session(request)
    item = await _by_reference(session, request.match_info["reference"])
    if not item.exports:
        raise errors.ApiError(404, "export_not_found", "This request has no data export yet.")
    export = item.exports[-1]
    audit.record(
        session,
        context,
        at=system.clock(),
        action="data_export.read",
        subject_type="debtor",
        subject_id=str(item.debtor_id),
        outcome="ok",
        detail=f"{item.reference}:{form}",
    )
    await session.commit()
    if form == "document":
        response = web.Response(text=export.document, content_type="text/plain", charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Disposition"] = f'attachment; filename="{item.reference}.txt"'
        return response
    return json_response(export.data)


ROUTES = [
    web.get(f"{API_PREFIX}/rights-requests", list_rights_requests, name="rights_requests"),
    web.post(f"{API_PREFIX}/rights-requests", create_rights_request, name="rights_requests"),
    web.get(f"{API_PREFIX}/rights-requests/{{reference}}", get_rights_request, name="rights_request"),
    web.post(f"{API_PREFIX}/rights-requests/{{reference}}/export", create_export, name="rights_request_export"),
    web.get(f"{API_PREFIX}/rights-requests/{{reference}}/export", get_export, name="rights_request_export"),
]
