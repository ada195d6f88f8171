"""GDPR rights requests as the API offers them: log one, list and read them, produce and read a
data export. The rules are rights_requests.py's; this module applies them, writes, audits and
commits.

A caseworker may extend a request (Art. 12(3)) or refuse it (Art. 12(4)); either way the debtor
is told, with the reason, by SMS when a number reaches them (the SMS conversation's number, or the
verified debtor's), and otherwise the request records that no notice could be sent.

A request names a case only when the case system itself has seen this conversation verify that
case (an `identity.verify` audit event with outcome `verified`): the caller cannot make a request
"verified" by saying so. Every read and every change is audited, without values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.case_system.contract import errors
from bot.case_system.contract.enums import (
    Channel,
    ExportFormat,
    HandoffPriority,
    RightsRequestStatus,
    RightsRequestType,
    VerificationMethod,
    VerificationOutcome,
)
from bot.case_system.contract.requests import RightsRequestCreate, RightsRequestFilters
from bot.case_system.domain import agency_messages, audit, data_export, handoffs, rights_requests
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.interest import RateTable
from bot.case_system.domain.opening_hours import OpeningHours
from bot.case_system.domain.outbox import Queued
from bot.case_system.domain.payment_plans import format_day
from bot.case_system.domain.verification import AUDIT_ACTION as VERIFY_ACTION
from bot.case_system.store.models import AuditEvent, Case, DataExport, Debtor, RightsRequest, SmsConversation
from bot.redaction import redact_text

MAX_LISTED = 500
REFERENCE_ATTEMPTS = 5
# A conversation's verification is trusted for a request made within this time of it. The
# dialogue's own session ends sooner (30 idle minutes); this only bounds what the API accepts.
VERIFICATION_VALID_FOR = timedelta(hours=12)


def _with_links(query):
    return query.options(
        selectinload(RightsRequest.case), selectinload(RightsRequest.exports), selectinload(RightsRequest.debtor)
    )


async def by_reference(session: AsyncSession, raw: str) -> RightsRequest:
    """The request with that reference (as typed), or the API's `rights_request_not_found`."""
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
            AuditEvent.outcome == VerificationOutcome.VERIFIED.value,
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
    return row.detail if row.detail in rights_requests.VERIFICATION_METHODS else VerificationMethod.UNKNOWN.value


def _words(text: Optional[str]) -> Optional[str]:
    return None if text is None else redact_text(text)


@dataclass(frozen=True)
class LoggedRequest:
    item: RightsRequest
    effects: dict = field(default_factory=dict)  # what took effect at once: marketing_objection, handoff_id, export_id
    created: bool = True  # False: logged before with the same idempotency key


async def log_rights_request(
    session: AsyncSession,
    request: RightsRequestCreate,
    *,
    now: datetime,
    rates: RateTable,
    tracker_url: str,
    context: audit.AuditContext,
) -> LoggedRequest:
    """Log a request and apply what it changes at once (rights_requests.effects_of)."""
    if request.idempotency_key is not None:
        query = _with_links(sa.select(RightsRequest).where(RightsRequest.idempotency_key == request.idempotency_key))
        existing = (await session.execute(query)).scalar_one_or_none()
        if existing is not None:
            return LoggedRequest(existing, created=False)

    case = None
    method = None
    if request.case_number is not None:
        method = await verification_method(
            session, conversation_id=request.conversation_id, case_number=request.case_number, now=now
        )
        case_query = sa.select(Case).where(Case.case_number == request.case_number)
        case = (await session.execute(case_query)).scalar_one_or_none() if method else None
        if case is None:
            # Same answer whether or not the case exists: nothing is learnt by guessing.
            raise errors.case_not_verified()
    verified = case is not None
    kind: RightsRequestType = request.type
    effects = rights_requests.effects_of(kind, verified=verified)

    item = RightsRequest(
        type=kind,
        received_at=now,
        due_at=rights_requests.due_at(now),
        status=rights_requests.initial_status(effects),
        channel=request.channel,
        conversation_id=request.conversation_id,
        verified=verified,
        verification_method=method if verified else None,
        case_id=case.id if case else None,
        debtor_id=case.debtor_id if case else None,
        request_text=_words(request.request_text),
        rectification_wrong=_words(request.rectification_wrong),
        rectification_right=_words(request.rectification_right),
        idempotency_key=request.idempotency_key,
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

    applied: dict = {}
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
                "transcript": handoffs.stored_transcript(request.transcript),
            },
            now=now,
        )
        item.handoff_id = handoff.id
        applied["handoff_id"] = handoff.id
    if effects.produce_export:
        export = await _produce_export(session, item, now=now, rates=rates, tracker_url=tracker_url, context=context)
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
    return LoggedRequest((await session.execute(query)).scalar_one(), effects=applied)


async def _produce_export(
    session: AsyncSession,
    item: RightsRequest,
    *,
    now: datetime,
    rates: RateTable,
    tracker_url: str,
    context: audit.AuditContext,
) -> DataExport:
    debtor = await data_export.load_debtor(session, item.debtor_id)
    data = await data_export.collect(
        session, debtor, request=item, now=now, today=oslo_date(now), rates=rates, tracker_url=tracker_url
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


async def list_rights_requests(
    session: AsyncSession, filters: RightsRequestFilters, *, now: datetime, context: audit.AuditContext
) -> list[RightsRequest]:
    """Requests, earliest deadline first (at most `MAX_LISTED`); the list is audited."""
    query = _with_links(sa.select(RightsRequest)).order_by(RightsRequest.due_at, RightsRequest.id).limit(MAX_LISTED)
    if filters.status is not None:
        query = query.where(RightsRequest.status == filters.status)
    if filters.case_number is not None:
        query = query.join(Case, RightsRequest.case_id == Case.id).where(Case.case_number == filters.case_number)
    if filters.overdue is not None:
        open_and_late = sa.and_(RightsRequest.status.in_(rights_requests.OPEN_STATUSES), RightsRequest.due_at < now)
        query = query.where(open_and_late if filters.overdue else sa.not_(open_and_late))
    found = list((await session.execute(query)).scalars())
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.list",
        subject_type="rights_request",
        subject_id=filters.case_number,
        outcome="ok",
        detail=f"status={filters.status.value if filters.status else 'any'}",
    )
    await session.commit()
    return found


async def read_rights_request(
    session: AsyncSession, reference: str, *, now: datetime, context: audit.AuditContext
) -> RightsRequest:
    item = await by_reference(session, reference)
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.read",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome="ok",
    )
    await session.commit()
    return item


async def create_export(
    session: AsyncSession,
    reference: str,
    *,
    now: datetime,
    rates: RateTable,
    tracker_url: str,
    context: audit.AuditContext,
) -> DataExport:
    """Produce the debtor's data export (again) for an access or portability request."""
    item = await by_reference(session, reference)
    if item.type not in rights_requests.EXPORT_TYPES:
        raise errors.ApiError(409, "export_not_applicable", "Only access and portability requests have an export.")
    if item.debtor_id is None:
        raise errors.ApiError(
            409, "identity_not_confirmed", "The requester's identity is not confirmed; nothing can be exported."
        )
    export = await _produce_export(session, item, now=now, rates=rates, tracker_url=tracker_url, context=context)
    if item.status is RightsRequestStatus.RECEIVED:
        item.status = RightsRequestStatus.IN_PROGRESS
    await session.commit()
    return export


async def read_export(
    session: AsyncSession, reference: str, form: ExportFormat, *, now: datetime, context: audit.AuditContext
) -> tuple[RightsRequest, DataExport]:
    """The request and its latest export; the read is audited."""
    item = await by_reference(session, reference)
    if not item.exports:
        raise errors.ApiError(404, "export_not_found", "This request has no data export yet.")
    audit.record(
        session,
        context,
        at=now,
        action="data_export.read",
        subject_type="debtor",
        subject_id=str(item.debtor_id),
        outcome="ok",
        detail=f"{item.reference}:{form.value}",
    )
    await session.commit()
    return item, item.exports[-1]


async def mark_export_sent(
    session: AsyncSession, reference: str, *, now: datetime, context: audit.AuditContext
) -> RightsRequest:
    """A caseworker has reviewed the export and sent it to the debtor: the request is completed."""
    item = await by_reference(session, reference)
    if not item.exports:
        raise errors.ApiError(409, "export_not_found", "This request has no data export to send.")
    item.status = RightsRequestStatus.COMPLETED
    audit.record(
        session,
        context,
        at=now,
        action="data_export.sent",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome="sent",
        detail=f"export={item.exports[-1].id}",
    )
    await session.commit()
    return item


async def close_request(
    session: AsyncSession, reference: str, *, now: datetime, context: audit.AuditContext
) -> RightsRequest:
    """A caseworker has dealt with the request: it is completed."""
    item = await by_reference(session, reference)
    item.status = RightsRequestStatus.COMPLETED
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.close",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome="completed",
    )
    await session.commit()
    return item


# --- extension and refusal, and telling the debtor ----------------------------------------------


async def _reachable_phone(session: AsyncSession, item: RightsRequest) -> Optional[str]:
    """The number that reaches the requester: the SMS conversation's own, else a verified debtor's."""
    if item.channel is Channel.SMS and item.conversation_id:
        known = await session.get(SmsConversation, item.conversation_id)
        if known is not None:
            return known.phone
    if item.verified and item.debtor is not None and item.debtor.phone:
        return item.debtor.phone
    return None


async def _notify(
    session: AsyncSession,
    item: RightsRequest,
    template: str,
    values: dict[str, str],
    *,
    now: datetime,
    hours: OpeningHours,
    agency_phone: str,
) -> rights_requests.NoticeOutcome:
    phone = await _reachable_phone(session, item)
    if phone is None:
        return rights_requests.NoticeOutcome.NO_CHANNEL
    language = item.debtor.language.value if item.debtor is not None else "nb"
    queued = await agency_messages.queue_sms(
        session,
        phone=phone,
        template=template,
        language=language,
        values={"reference": item.reference, "agency_phone": agency_phone, **values},
        key=f"{template}:{item.reference}",
        now=now,
        hours=hours,
    )
    if queued is Queued.SUPPRESSED:
        return rights_requests.NoticeOutcome.SUPPRESSED
    return rights_requests.NoticeOutcome.QUEUED


async def extend_request(
    session: AsyncSession,
    reference: str,
    *,
    months: int,
    reason: str,
    now: datetime,
    hours: OpeningHours,
    agency_phone: str,
    context: audit.AuditContext,
) -> RightsRequest:
    """Extend a request's deadline by `months` (1 or 2) with `reason`, and tell the debtor."""
    item = await by_reference(session, reference)
    try:
        rights_requests.check_extension(
            status=item.status,
            received_at=item.received_at,
            extended_months=item.extended_months,
            months=months,
            now=now,
        )
    except rights_requests.ExtensionRefused as refused:
        raise errors.ApiError(409, refused.code, str(refused)) from None
    item.extended_months = months
    item.extension_reason = reason
    item.extended_at = now
    item.extended_by = context.actor
    item.due_at = rights_requests.due_at(item.received_at, months)
    language = item.debtor.language.value if item.debtor is not None else "nb"
    new_due = rights_requests.due_date(item.received_at, months)
    outcome = await _notify(
        session,
        item,
        agency_messages.RIGHTS_EXTENDED,
        {"due_date": format_day(new_due, language), "reason": reason},
        now=now,
        hours=hours,
        agency_phone=agency_phone,
    )
    item.extension_notice = outcome.value
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.extend",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome=outcome.value,
        detail=f"months={months}",
    )
    await session.commit()
    return item


async def refuse_request(
    session: AsyncSession,
    reference: str,
    *,
    reason: str,
    now: datetime,
    hours: OpeningHours,
    agency_phone: str,
    context: audit.AuditContext,
) -> RightsRequest:
    """Refuse (not act on) an open request with `reason`; the debtor is told why and of their right
    to complain to Datatilsynet (Art. 12(4), 77)."""
    item = await by_reference(session, reference)
    if item.status not in rights_requests.OPEN_STATUSES:
        raise errors.ApiError(409, "request_closed", "Only an open request can be refused.")
    item.status = RightsRequestStatus.REJECTED
    item.refusal_reason = reason
    item.refused_at = now
    outcome = await _notify(
        session,
        item,
        agency_messages.RIGHTS_REFUSED,
        {"reason": reason},
        now=now,
        hours=hours,
        agency_phone=agency_phone,
    )
    item.refusal_notice = outcome.value
    audit.record(
        session,
        context,
        at=now,
        action="rights_request.refuse",
        subject_type="rights_request",
        subject_id=item.reference,
        outcome=outcome.value,
    )
    await session.commit()
    return item
