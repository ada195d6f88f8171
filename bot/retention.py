"""Retention: anonymise or delete conversation data and case links when their time is up.

Periods come from configuration, with the privacy notice's defaults:
- a closed case's personal link is anonymised at the latest `retention_case_link_years` (3) after
  the case closed: the debtor record (when all their cases are that old) loses name, identity
  number, birth date and phone; the case's conversations are deleted from the tracker store; the
  debtor's own words (dispute reasons, rights-request texts, handoff transcripts) are cleared and
  conversation ids are unlinked from case records and audit events;
- a conversation with no contact for `retention_conversation_days` (3 years) is deleted from the
  tracker store, and its handoff transcripts are cleared.
Figures needed for accounting (amounts, dates, payments: 10 years under the Bookkeeping Act) and
the audit trail (no personal values) are kept.

Also: erasing one conversation's tracker events on a caseworker's decision. Blocking database
access: this runs from the CLI, never inside a server. Output holds counts, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.case_system.contract.enums import CaseStatus
from bot.case_system.store.models import (
    AuditEvent,
    Case,
    DataExport,
    Debtor,
    Dispute,
    Handoff,
    HandoffMessageRecord,
    PaymentPlan,
    Postponement,
    RightsRequest,
    SmsConversation,
)
from bot.config import Settings, to_sync_url

ANONYMOUS_NAME = "anonymisert"
ANONYMOUS_BIRTH_DATE = date(1900, 1, 1)
ACTOR = "system:retention"
LINKED_RECORDS = (PaymentPlan, Postponement, Dispute, RightsRequest)


def _forget_handoff_words(connection: Connection, which) -> None:
    """Clear what was said in handoffs `which` selects: transcript, summary, the messages since
    the handoff and the caseworker's note."""
    ids = sa.select(Handoff.id).where(which)
    connection.execute(sa.delete(HandoffMessageRecord).where(HandoffMessageRecord.handoff_id.in_(ids)))
    connection.execute(sa.update(Handoff).where(which).values(transcript=[], summary="", note=None))


TRACKER_EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))


@dataclass
class RetentionPlan:
    """What a retention run would change."""

    closed_before: date
    silent_since: datetime
    expired_case_ids: list[int] = field(default_factory=list)
    debtor_ids: list[int] = field(default_factory=list)
    stale_conversations: list[str] = field(default_factory=list)  # no contact for the period
    case_conversations: list[str] = field(default_factory=list)  # linked to expired cases

    @property
    def conversations(self) -> list[str]:
        return sorted(set(self.stale_conversations) | set(self.case_conversations))

    def describe(self) -> list[str]:
        return [
            f"cases closed before {self.closed_before.isoformat()}: {len(self.expired_case_ids)} "
            "(conversation links, transcripts and the debtor's words removed)",
            f"debtors anonymised (all their cases closed before then): {len(self.debtor_ids)}",
            f"conversations silent since {self.silent_since.date().isoformat()}: {len(self.stale_conversations)}",
            f"conversations deleted from the tracker store: {len(self.conversations)}",
        ]


def _engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(to_sync_url(url), future=True)


def _has_events_table(connection: Connection) -> bool:
    return sa.inspect(connection).has_table("events")


def subtract_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def plan_retention(settings: Settings, *, now: Optional[datetime] = None) -> RetentionPlan:
    now = now or datetime.now(timezone.utc)
    plan = RetentionPlan(
        closed_before=subtract_years(now.date(), settings.retention_case_link_years),
        silent_since=now - timedelta(days=settings.retention_conversation_days),
    )
    cases_engine = _engine(settings.database_url)
    try:
        with cases_engine.connect() as connection:
            expired = connection.execute(
                sa.select(Case.id, Case.case_number, Case.debtor_id).where(
                    Case.status == CaseStatus.CLOSED, Case.closed_on.is_not(None), Case.closed_on < plan.closed_before
                )
            ).all()
            plan.expired_case_ids = [row.id for row in expired]
            case_numbers = [row.case_number for row in expired]
            candidates = {row.debtor_id for row in expired}
            if candidates:
                still_linked = set(
                    connection.execute(
                        sa.select(Case.debtor_id).where(
                            Case.debtor_id.in_(candidates), Case.id.not_in(plan.expired_case_ids)
                        )
                    ).scalars()
                )
                plan.debtor_ids = sorted(candidates - still_linked)
            conversations: set[str] = set()
            if case_numbers:
                conversations.update(
                    connection.execute(
                        sa.select(AuditEvent.conversation_id).where(
                            AuditEvent.subject_type == "case",
                            AuditEvent.subject_id.in_(case_numbers),
                            AuditEvent.conversation_id.is_not(None),
                        )
                    ).scalars()
                )
                conversations.update(
                    connection.execute(
                        sa.select(Handoff.conversation_id).where(Handoff.case_number.in_(case_numbers))
                    ).scalars()
                )
                for model in LINKED_RECORDS:
                    conversations.update(
                        connection.execute(
                            sa.select(model.conversation_id).where(
                                model.case_id.in_(plan.expired_case_ids), model.conversation_id.is_not(None)
                            )
                        ).scalars()
                    )
            plan.case_conversations = sorted(conversations)
    finally:
        cases_engine.dispose()

    tracker_engine = _engine(settings.tracker_store_url)
    try:
        with tracker_engine.connect() as connection:
            if _has_events_table(connection):
                query = (
                    sa.select(TRACKER_EVENTS.c.sender_id)
                    .group_by(TRACKER_EVENTS.c.sender_id)
                    .having(sa.func.max(TRACKER_EVENTS.c.timestamp) < plan.silent_since.timestamp())
                )
                plan.stale_conversations = sorted(connection.execute(query).scalars())
    finally:
        tracker_engine.dispose()
    return plan


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def delete_tracker_conversations(settings: Settings, conversation_ids: list[str]) -> int:
    """Deletes every tracker-store event of these conversations; the number of events deleted."""
    if not conversation_ids:
        return 0
    engine = _engine(settings.tracker_store_url)
    deleted = 0
    try:
        with engine.begin() as connection:
            if not _has_events_table(connection):
                return 0
            for chunk in _chunks(conversation_ids):
                deleted += connection.execute(
                    sa.delete(TRACKER_EVENTS).where(TRACKER_EVENTS.c.sender_id.in_(chunk))
                ).rowcount
    finally:
        engine.dispose()
    return deleted


def _audit(
    connection: Connection,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: Optional[str],
    detail: str,
    conversation_id: Optional[str] = None,
) -> None:
    connection.execute(
        sa.insert(AuditEvent).values(
            at=now,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            purpose="retention",
            outcome="done",
            channel=None,
            conversation_id=conversation_id,
            detail=detail,
        )
    )


def apply_retention(settings: Settings, plan: RetentionPlan, *, now: Optional[datetime] = None) -> None:
    """Carries out `plan`: case database first (one transaction), then the tracker store."""
    now = now or datetime.now(timezone.utc)
    conversations = plan.conversations
    engine = _engine(settings.database_url)
    try:
        with engine.begin() as connection:
            for chunk in _chunks(conversations):
                _forget_handoff_words(connection, Handoff.conversation_id.in_(chunk))
                connection.execute(sa.delete(SmsConversation).where(SmsConversation.conversation_id.in_(chunk)))
                connection.execute(
                    sa.update(AuditEvent).where(AuditEvent.conversation_id.in_(chunk)).values(conversation_id=None)
                )
                for model in LINKED_RECORDS:
                    connection.execute(
                        sa.update(model).where(model.conversation_id.in_(chunk)).values(conversation_id=None)
                    )
            if plan.expired_case_ids:
                connection.execute(
                    sa.update(Dispute).where(Dispute.case_id.in_(plan.expired_case_ids)).values(reason="")
                )
                case_numbers = list(
                    connection.execute(sa.select(Case.case_number).where(Case.id.in_(plan.expired_case_ids))).scalars()
                )
                _forget_handoff_words(connection, Handoff.case_number.in_(case_numbers))
                connection.execute(
                    sa.update(Handoff).where(Handoff.case_number.in_(case_numbers)).values(case_number=None)
                )
            if plan.debtor_ids:
                request_ids = list(
                    connection.execute(
                        sa.select(RightsRequest.id).where(RightsRequest.debtor_id.in_(plan.debtor_ids))
                    ).scalars()
                )
                if request_ids:
                    connection.execute(sa.delete(DataExport).where(DataExport.rights_request_id.in_(request_ids)))
                    connection.execute(
                        sa.update(RightsRequest)
                        .where(RightsRequest.id.in_(request_ids))
                        .values(request_text=None, rectification_wrong=None, rectification_right=None)
                    )
                for debtor_id in plan.debtor_ids:
                    connection.execute(
                        sa.update(Debtor)
                        .where(Debtor.id == debtor_id)
                        .values(
                            first_name=ANONYMOUS_NAME,
                            last_name=ANONYMOUS_NAME,
                            national_id=f"A{debtor_id:010d}"[-11:],  # unique, and never a valid number
                            birth_date=ANONYMOUS_BIRTH_DATE,
                            phone=None,
                        )
                    )
            # The number an SMS conversation came from is kept only as long as the conversation.
            connection.execute(sa.delete(SmsConversation).where(SmsConversation.last_inbound_at < plan.silent_since))
            _audit(
                connection,
                now=now,
                actor=ACTOR,
                action="retention.apply",
                subject_type="retention",
                subject_id=None,
                detail=f"cases={len(plan.expired_case_ids)},debtors={len(plan.debtor_ids)}",
            )
    finally:
        engine.dispose()
    delete_tracker_conversations(settings, conversations)


def erase_conversation(settings: Settings, conversation_id: str, *, actor: str, now: Optional[datetime] = None) -> int:
    """A caseworker's decision to erase one conversation: its tracker events and handoff transcripts.

    The case records it led to (a plan, a rights request) stay; their link to it is removed.
    Returns the number of tracker events deleted.
    """
    now = now or datetime.now(timezone.utc)
    engine = _engine(settings.database_url)
    try:
        with engine.begin() as connection:
            _forget_handoff_words(connection, Handoff.conversation_id == conversation_id)
            connection.execute(sa.delete(SmsConversation).where(SmsConversation.conversation_id == conversation_id))
            for model in LINKED_RECORDS:
                connection.execute(
                    sa.update(model).where(model.conversation_id == conversation_id).values(conversation_id=None)
                )
            _audit(
                connection,
                now=now,
                actor=actor,
                action="conversation.erase",
                subject_type="conversation",
                subject_id=None,
                detail="tracker_events",
                conversation_id=conversation_id,
            )
    finally:
        engine.dispose()
    return delete_tracker_conversations(settings, [conversation_id])
