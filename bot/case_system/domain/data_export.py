"""A debtor's data export for access (Art. 15) and portability (Art. 20) requests.

One collection of everything the case system holds about a debtor (the debtor, their cases with
claim lines, payments, plans, postponements and disputes, their rights requests, handoffs,
conversation transcripts and the audit events about them), in two forms: JSON for portability,
and a plain-text document a caseworker reviews and sends. Transcripts come from the tracker store
when it is reachable (already redacted there) and from handoffs otherwise.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from typing import Any, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.case_system.contract.fields import timestamp
from bot.case_system.domain.interest import RateTable
from bot.case_system.domain.statements import case_statement, statement_date
from bot.case_system.domain.verification import AUDIT_ACTION as VERIFY_ACTION
from bot.case_system.store.database import engine_for_url
from bot.case_system.store.models import (
    AuditEvent,
    Case,
    Debtor,
    Handoff,
    PaymentPlan,
    RightsRequest,
)
from bot.config import money

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_AUDIT_EVENTS = 5000
MAX_TRACKER_EVENTS = 20000


def _iso(value: Optional[date]) -> Optional[str]:
    return None if value is None else value.isoformat()


def _ts(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else timestamp(value)


async def debtor_conversations(session: AsyncSession, debtor: Debtor) -> list[str]:
    """Conversation ids linked to the debtor: verified in, or recorded on one of their records."""
    case_numbers = [case.case_number for case in debtor.cases]
    ids: set[str] = set()
    if case_numbers:
        query = sa.select(AuditEvent.conversation_id).where(
            AuditEvent.action == VERIFY_ACTION,
            AuditEvent.outcome == "verified",
            AuditEvent.subject_id.in_(case_numbers),
            AuditEvent.conversation_id.is_not(None),
        )
        ids.update((await session.execute(query)).scalars())
        for case in debtor.cases:
            for record in (*case.payment_plans, *case.postponements, *case.disputes):
                if record.conversation_id:
                    ids.add(record.conversation_id)
    query = sa.select(RightsRequest.conversation_id).where(
        RightsRequest.debtor_id == debtor.id, RightsRequest.conversation_id.is_not(None)
    )
    ids.update((await session.execute(query)).scalars())
    return sorted(ids)


async def load_debtor(session: AsyncSession, debtor_id: int) -> Optional[Debtor]:
    query = (
        sa.select(Debtor)
        .where(Debtor.id == debtor_id)
        .options(
            selectinload(Debtor.cases).selectinload(Case.creditor),
            selectinload(Debtor.cases).selectinload(Case.claim_lines),
            selectinload(Debtor.cases).selectinload(Case.payments),
            selectinload(Debtor.cases).selectinload(Case.payment_plans).selectinload(PaymentPlan.installments),
            selectinload(Debtor.cases).selectinload(Case.postponements),
            selectinload(Debtor.cases).selectinload(Case.disputes),
        )
    )
    return (await session.execute(query)).scalar_one_or_none()


async def read_tracker_transcripts(tracker_url: str, conversation_ids: Iterable[str]) -> Optional[dict[str, list]]:
    """User and bot messages per conversation from Rasa's SQL tracker store, or None if unreadable."""
    ids = list(conversation_ids)
    if not ids or not tracker_url:
        return {}
    engine = engine_for_url(tracker_url)
    try:
        async with engine.connect() as connection:
            events = sa.table(
                "events",
                sa.column("id"),
                sa.column("sender_id"),
                sa.column("type_name"),
                sa.column("timestamp"),
                sa.column("data"),
            )
            query = (
                sa.select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
                .where(events.c.sender_id.in_(ids), events.c.type_name.in_(["user", "bot"]))
                .order_by(events.c.id)
                .limit(MAX_TRACKER_EVENTS)
            )
            rows = (await connection.execute(query)).all()
    except Exception as error:  # no tracker store here, or not Rasa's schema: fall back to handoffs
        log.warning("tracker store not readable for an export: %s", type(error).__name__)
        return None
    finally:
        await engine.dispose()
    transcripts: dict[str, list] = {conversation_id: [] for conversation_id in ids}
    for row in rows:
        data = json.loads(row.data) if isinstance(row.data, str) else (row.data or {})
        if not data.get("text"):
            continue
        at = datetime.fromtimestamp(float(row.timestamp or data.get("timestamp") or 0), tz=timezone.utc)
        transcripts[row.sender_id].append({"sender": row.type_name, "text": data["text"], "at": timestamp(at)})
    return transcripts


async def collect(
    session: AsyncSession,
    debtor: Debtor,
    *,
    request: RightsRequest,
    now: datetime,
    today: date,
    rates: RateTable,
    tracker_url: str = "",
) -> dict[str, Any]:
    """Everything held about `debtor`, as JSON-ready data."""
    case_numbers = [case.case_number for case in debtor.cases]
    conversations = await debtor_conversations(session, debtor)

    rights = (
        await session.execute(
            sa.select(RightsRequest).where(RightsRequest.debtor_id == debtor.id).order_by(RightsRequest.id)
        )
    ).scalars()
    handoff_filter = [Handoff.conversation_id.in_(conversations)] if conversations else []
    if case_numbers:
        handoff_filter.append(Handoff.case_number.in_(case_numbers))
    handoff_rows = (
        list((await session.execute(sa.select(Handoff).where(sa.or_(*handoff_filter)).order_by(Handoff.id))).scalars())
        if handoff_filter
        else []
    )
    audit_filter = [AuditEvent.conversation_id.in_(conversations)] if conversations else []
    if case_numbers:
        audit_filter.append(sa.and_(AuditEvent.subject_type == "case", AuditEvent.subject_id.in_(case_numbers)))
    audit_rows = (
        list(
            (
                await session.execute(
                    sa.select(AuditEvent).where(sa.or_(*audit_filter)).order_by(AuditEvent.id).limit(MAX_AUDIT_EVENTS)
                )
            ).scalars()
        )
        if audit_filter
        else []
    )

    transcripts = await read_tracker_transcripts(tracker_url, conversations)
    if transcripts is None:
        transcripts = {}
        for handoff in handoff_rows:
            transcripts.setdefault(handoff.conversation_id, list(handoff.transcript or []))

    return {
        "format_version": FORMAT_VERSION,
        "generated_at": timestamp(now),
        "rights_request": request.reference,
        "debtor": {
            "first_name": debtor.first_name,
            "last_name": debtor.last_name,
            "national_id": debtor.national_id,
            "birth_date": _iso(debtor.birth_date),
            "phone": debtor.phone,
            "language": debtor.language.value,
            "marketing_objection": debtor.marketing_objection,
            "registered_at": _ts(debtor.created_at),
        },
        "cases": [_case(case, today=today, rates=rates) for case in sorted(debtor.cases, key=lambda c: c.case_number)],
        "rights_requests": [
            {
                "id": item.reference,
                "type": item.type.value,
                "received_at": _ts(item.received_at),
                "due_at": _ts(item.due_at),
                "status": item.status.value,
                "channel": item.channel.value,
                "request_text": item.request_text,
                "rectification_wrong": item.rectification_wrong,
                "rectification_right": item.rectification_right,
            }
            for item in rights
        ],
        "handoffs": [
            {
                "id": handoff.id,
                "channel": handoff.channel.value,
                "reason": handoff.reason,
                "status": handoff.status.value,
                "case_number": handoff.case_number,
                "created_at": _ts(handoff.created_at),
                "summary": handoff.summary,
            }
            for handoff in handoff_rows
        ],
        "conversations": [
            {"conversation_id": conversation_id, "messages": transcripts.get(conversation_id, [])}
            for conversation_id in conversations
        ],
        "audit_events": [
            {
                "at": _ts(event.at),
                "actor": event.actor,
                "action": event.action,
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "purpose": event.purpose,
                "outcome": event.outcome,
                "channel": event.channel,
            }
            for event in audit_rows
        ],
    }


def _case(case: Case, *, today: date, rates: RateTable) -> dict[str, Any]:
    as_of = statement_date(case, today)
    statement = case_statement(case, as_of=as_of, rates=rates)
    return {
        "case_number": case.case_number,
        "creditor": {"name": case.creditor.name, "org_number": case.creditor.org_number},
        "description": case.description,
        "invoice": {
            "number": case.invoice_number,
            "date": _iso(case.invoice_date),
            "due_date": _iso(case.due_date),
            "amount": money(case.principal),
        },
        "stage": case.stage.value,
        "status": case.status.value,
        "closed_on": _iso(case.closed_on),
        "notice_sent_on": _iso(case.notice_sent_on),
        "kid": case.kid,
        "disputed": case.disputed,
        "collection_stopped": case.collection_stopped,
        "as_of": as_of.isoformat(),
        "lines": [
            {
                "type": getattr(line.type, "value", line.type),
                "amount": money(line.amount),
                "description": line.description,
                "from_date": _iso(line.from_date),
                "to_date": _iso(line.to_date),
            }
            for line in statement.lines
        ],
        "balance": money(statement.balance),
        "payments": [
            {"paid_on": _iso(payment.paid_on), "amount": money(payment.amount), "reference": payment.reference}
            for payment in case.payments
        ],
        "payment_plans": [
            {
                "status": plan.status.value,
                "monthly_amount": money(plan.monthly_amount),
                "fee": money(plan.fee),
                "created_via": plan.created_via.value,
                "created_at": _ts(plan.created_at),
                "installments": [
                    {"due_date": _iso(item.due_date), "amount": money(item.amount), "status": item.status.value}
                    for item in plan.installments
                ],
            }
            for plan in case.payment_plans
        ],
        "postponements": [
            {"new_due_date": _iso(item.new_due_date), "fee": money(item.fee), "status": item.status.value}
            for item in case.postponements
        ],
        "disputes": [
            {"reason": item.reason, "status": item.status.value, "received_at": _ts(item.received_at)}
            for item in case.disputes
        ],
    }


# --- the readable document -----------------------------------------------------------------------

# The document is for the debtor, sent by a caseworker after review; headings in both languages.
_HEADINGS = {
    "debtor": "Personopplysninger / Personal data",
    "cases": "Saker / Cases",
    "rights_requests": "Forespørsler om rettigheter / Rights requests",
    "handoffs": "Overføringer til saksbehandler / Handoffs to a caseworker",
    "conversations": "Samtaler / Conversations",
    "audit_events": "Hvem har lest eller endret opplysningene / Who read or changed the data",
}


def render_document(data: dict[str, Any]) -> str:
    """The export as plain text: one section per kind of data, every value from `data`."""
    lines = [
        "Innsyn i personopplysninger / Your personal data",
        f"Referanse / Reference: {data['rights_request']}",
        f"Laget / Generated: {data['generated_at']}",
        "",
        _HEADINGS["debtor"],
        *_fields(data["debtor"], indent="  "),
        "",
        _HEADINGS["cases"],
    ]
    for case in data["cases"]:
        lines.append(f"  {case['case_number']}: {case['creditor']['name']} ({case['status']}, {case['stage']})")
        lines.append(
            f"    invoice {case['invoice']['number']} {case['invoice']['date']}, due {case['invoice']['due_date']}"
        )
        for line in case["lines"]:
            period = " – ".join(part for part in (line["from_date"], line["to_date"]) if part)
            lines.append(f"    {line['type']}: {line['amount']} NOK {period}".rstrip())
        for payment in case["payments"]:
            lines.append(f"    payment {payment['paid_on']}: {payment['amount']} NOK")
        for plan in case["payment_plans"]:
            lines.append(f"    payment plan ({plan['status']}): {plan['monthly_amount']} NOK a month")
        for item in case["postponements"]:
            lines.append(f"    postponement ({item['status']}) to {item['new_due_date']}")
        for item in case["disputes"]:
            lines.append(f"    dispute ({item['status']}) {item['received_at']}: {item['reason']}")
        lines.append(f"    balance {case['as_of']}: {case['balance']} NOK")
    for key in ("rights_requests", "handoffs"):
        lines += ["", _HEADINGS[key]]
        for item in data[key]:
            lines.append(
                "  - " + "; ".join(f"{name}: {value}" for name, value in item.items() if value not in (None, ""))
            )
    lines += ["", _HEADINGS["conversations"]]
    for conversation in data["conversations"]:
        lines.append(f"  {conversation['conversation_id']}")
        for message in conversation["messages"]:
            lines.append(f"    [{message['at']}] {message['sender']}: {message['text']}")
    lines += ["", _HEADINGS["audit_events"]]
    for event in data["audit_events"]:
        lines.append(
            f"  {event['at']} {event['actor']} {event['action']} {event['subject_type']} "
            f"{event['subject_id'] or ''} purpose={event['purpose']} outcome={event['outcome']}"
        )
    return "\n".join(lines) + "\n"


def _fields(values: dict[str, Any], *, indent: str) -> list[str]:
    return [f"{indent}{name}: {value}" for name, value in values.items() if value is not None]
