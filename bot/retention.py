"""Retention: anonymise or delete conversation data and case links when their time is up.

Periods come from configuration, with the privacy notice's defaults:
- each closed case's personal link is removed at the latest `retention_case_link_years` (3)
  after that case closed, case by case: the case moves to an anonymous stand-in debtor of its own
  (no name, identity number, birth date or phone); its free text that can tell who the debtor is
  goes (what the invoice was for, claim-line descriptions, dispute reasons, rights-request texts
  and exports, handoff transcripts, summaries, messages and notes); its conversations are deleted
  from the tracker store and the SMS spool and unlinked from its records and audit events. A
  debtor left without any case is then deleted, with the texts of their rights requests;
- a conversation with no contact for `retention_conversation_days` (3 years) is deleted from the
  tracker store and the SMS spool, and its handoff transcripts are cleared.
Figures needed for accounting (amounts, dates, payments, KIDs, invoice numbers: 10 years under
the Bookkeeping Act) and the audit trail (no personal values) are kept, and every unlinking is
audited by case number.

Also: erasing one conversation's tracker events on a caseworker's decision. Blocking database
access: this runs from the CLI, never inside a server. Output holds case numbers and counts,
never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.case_system.contract.enums import CaseStatus, Language
from bot.case_system.domain.clock import OSLO, oslo_date
from bot.case_system.store.models import (
    AuditEvent,
    Case,
    ClaimLineRecord,
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
from bot.channels.sms_spool import spool_table
from bot.config import Settings, to_sync_url

ANONYMOUS_NAME = "anonymisert"
ANONYMOUS_BIRTH_DATE = date(1900, 1, 1)
# A stand-in debtor's national_id: the prefix and the case id, unique and never a valid number.
STAND_IN_PREFIX = "S"
ACTOR = "system:retention"
LINKED_RECORDS = (PaymentPlan, Postponement, Dispute, RightsRequest)


def _forget_handoff_words(connection: Connection, which) -> None:
    """Clear what was said in handoffs `which` selects: transcript, summary, the messages since
    the handoff and the caseworker's note."""
    ids = sa.select(Handoff.id).where(which)
    connection.execute(sa.delete(HandoffMessageRecord).where(HandoffMessageRecord.handoff_id.in_(ids)))
    connection.execute(sa.update(Handoff).where(which).values(transcript=[], summary="", note=None))


TRACKER_EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))


@dataclass(frozen=True)
class CaseToUnlink:
    """A closed case whose personal link is due to go."""

    case_id: int
    case_number: str
    closed_on: date
    debtor_id: int
    conversations: tuple[str, ...] = ()


@dataclass
class RetentionPlan:
    """What a retention run would change."""

    closed_on_or_before: date
    silent_since: datetime
    cases: list[CaseToUnlink] = field(default_factory=list)
    debtor_ids: list[int] = field(default_factory=list)  # left without a case: anonymised
    stale_conversations: list[str] = field(default_factory=list)  # no contact for the period

    @property
    def expired_case_ids(self) -> list[int]:
        return [case.case_id for case in self.cases]

    @property
    def case_conversations(self) -> list[str]:
        return sorted({conversation for case in self.cases for conversation in case.conversations})

    @property
    def conversations(self) -> list[str]:
        return sorted(set(self.stale_conversations) | set(self.case_conversations))

    def describe(self) -> list[str]:
        removed = set(self.debtor_ids)
        lines = [
            f"cases closed on or before {self.closed_on_or_before.isoformat()} unlinked from their debtor: "
            f"{len(self.cases)} (each to an anonymous stand-in; descriptions, the debtor's words and "
            "conversations removed; amounts and dates kept)"
        ]
        for case in self.cases:
            debtor = "no other case, debtor anonymised" if case.debtor_id in removed else "debtor keeps other cases"
            lines.append(
                f"  case {case.case_number} (closed {case.closed_on.isoformat()}): "
                f"{len(case.conversations)} conversation(s); {debtor}"
            )
        lines += [
            f"debtors anonymised (all their cases closed before then): {len(self.debtor_ids)}",
            f"conversations silent since {self.silent_since.date().isoformat()}: {len(self.stale_conversations)}",
            f"conversations deleted from the tracker store: {len(self.conversations)}",
        ]
        return lines


def _engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(to_sync_url(url), future=True)


def _has_events_table(connection: Connection) -> bool:
    return sa.inspect(connection).has_table("events")


def _has_spool_table(connection: Connection) -> bool:
    return sa.inspect(connection).has_table(spool_table.name)


def subtract_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def as_of_noon_in_oslo(day: date) -> datetime:
    """A clock set to `day` (`debtbot retention --as-of`), at noon in Norway."""
    return datetime.combine(day, time(12), tzinfo=OSLO).astimezone(timezone.utc)


def case_link_cutoff(settings: Settings, now: datetime) -> date:
    """The last closing date whose case is due to be unlinked on `now` (a day in Oslo): a case
    closed 20 March 2026 is unlinked from 20 March 2029 on."""
    return subtract_years(oslo_date(now), settings.retention_case_link_years)


def _case_conversations(connection: Connection, case_id: int, case_number: str) -> tuple[str, ...]:
    """The conversations that touched a case: its audit events, handoffs and linked records."""
    found: set[str] = set()
    found.update(
        connection.execute(
            sa.select(AuditEvent.conversation_id).where(
                AuditEvent.subject_type == "case",
                AuditEvent.subject_id == case_number,
                AuditEvent.conversation_id.is_not(None),
            )
        ).scalars()
    )
    found.update(
        connection.execute(sa.select(Handoff.conversation_id).where(Handoff.case_number == case_number)).scalars()
    )
    for model in LINKED_RECORDS:
        found.update(
            connection.execute(
                sa.select(model.conversation_id).where(model.case_id == case_id, model.conversation_id.is_not(None))
            ).scalars()
        )
    return tuple(sorted(found))


def plan_retention(settings: Settings, *, now: Optional[datetime] = None) -> RetentionPlan:
    now = now or datetime.now(timezone.utc)
    plan = RetentionPlan(
        closed_on_or_before=case_link_cutoff(settings, now),
        silent_since=now - timedelta(days=settings.retention_conversation_days),
    )
    cases_engine = _engine(settings.database_url)
    try:
        with cases_engine.connect() as connection:
            expired = connection.execute(
                sa.select(Case.id, Case.case_number, Case.closed_on, Case.debtor_id)
                .join(Debtor, Debtor.id == Case.debtor_id)
                .where(
                    Case.status == CaseStatus.CLOSED,
                    Case.closed_on.is_not(None),
                    Case.closed_on <= plan.closed_on_or_before,
                    Debtor.national_id.not_like(f"{STAND_IN_PREFIX}%"),  # not unlinked already
                )
                .order_by(Case.closed_on, Case.case_number)
            ).all()
            plan.cases = [
                CaseToUnlink(
                    row.id,
                    row.case_number,
                    row.closed_on,
                    row.debtor_id,
                    _case_conversations(connection, row.id, row.case_number),
                )
                for row in expired
            ]
            candidates = {row.debtor_id for row in expired}
            if candidates:
                keeping_a_case = set(
                    connection.execute(
                        sa.select(Case.debtor_id).where(
                            Case.debtor_id.in_(candidates), Case.id.not_in(plan.expired_case_ids)
                        )
                    ).scalars()
                )
                plan.debtor_ids = sorted(candidates - keeping_a_case)
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
    """Deletes every tracker-store event of these conversations, and their SMS spool rows (number
    and text of a message not yet finished); the number of events deleted."""
    if not conversation_ids:
        return 0
    engine = _engine(settings.tracker_store_url)
    deleted = 0
    try:
        with engine.begin() as connection:
            has_events, has_spool = _has_events_table(connection), _has_spool_table(connection)
            for chunk in _chunks(conversation_ids):
                if has_events:
                    deleted += connection.execute(
                        sa.delete(TRACKER_EVENTS).where(TRACKER_EVENTS.c.sender_id.in_(chunk))
                    ).rowcount
                if has_spool:
                    connection.execute(sa.delete(spool_table).where(spool_table.c.conversation_id.in_(chunk)))
    finally:
        engine.dispose()
    return deleted


def delete_old_spool_rows(settings: Settings, received_before: datetime) -> int:
    """Deletes SMS spool rows received before `received_before`, finished or stuck; how many.
    (The SMS inbox purges finished rows after a day; a row that never finished keeps its number
    and text until this.)"""
    engine = _engine(settings.tracker_store_url)
    try:
        with engine.begin() as connection:
            if not _has_spool_table(connection):
                return 0
            return connection.execute(
                sa.delete(spool_table).where(spool_table.c.received_at < received_before)
            ).rowcount
    finally:
        engine.dispose()


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


def _unlink_case(connection: Connection, case: CaseToUnlink, now: datetime) -> None:
    """Moves one case to an anonymous stand-in debtor of its own and clears its free text."""
    stand_in = connection.execute(
        sa.insert(Debtor).values(
            national_id=f"{STAND_IN_PREFIX}{case.case_id:010d}",
            first_name=ANONYMOUS_NAME,
            last_name=ANONYMOUS_NAME,
            birth_date=ANONYMOUS_BIRTH_DATE,
            phone=None,
            language=Language.NB,
            marketing_objection=False,
            created_at=now,
        )
    ).inserted_primary_key[0]
    connection.execute(sa.update(Case).where(Case.id == case.case_id).values(debtor_id=stand_in, description=""))
    # "Tannbehandling mai 2026" says something about the person; the line's type and amount stay.
    connection.execute(sa.update(ClaimLineRecord).where(ClaimLineRecord.case_id == case.case_id).values(description=""))
    connection.execute(sa.update(Dispute).where(Dispute.case_id == case.case_id).values(reason=""))
    for model in (PaymentPlan, Postponement, Dispute):
        connection.execute(sa.update(model).where(model.case_id == case.case_id).values(conversation_id=None))
    requests = sa.select(RightsRequest.id).where(RightsRequest.case_id == case.case_id)
    connection.execute(sa.delete(DataExport).where(DataExport.rights_request_id.in_(requests)))
    connection.execute(
        sa.update(RightsRequest)
        .where(RightsRequest.case_id == case.case_id)
        .values(
            debtor_id=stand_in,
            conversation_id=None,
            request_text=None,
            rectification_wrong=None,
            rectification_right=None,
        )
    )
    _forget_handoff_words(connection, Handoff.case_number == case.case_number)
    connection.execute(sa.update(Handoff).where(Handoff.case_number == case.case_number).values(case_number=None))
    connection.execute(
        sa.update(AuditEvent)
        .where(AuditEvent.subject_type == "case", AuditEvent.subject_id == case.case_number)
        .values(conversation_id=None)
    )
    _audit(
        connection,
        now=now,
        actor=ACTOR,
        action="retention.case_unlinked",
        subject_type="case",
        subject_id=case.case_number,
        detail=f"closed_on={case.closed_on.isoformat()}",
    )


def _anonymise_debtor(connection: Connection, debtor_id: int) -> None:
    """A debtor left without any case: no name, identity number, birth date, phone or request texts."""
    requests = sa.select(RightsRequest.id).where(RightsRequest.debtor_id == debtor_id)
    connection.execute(sa.delete(DataExport).where(DataExport.rights_request_id.in_(requests)))
    connection.execute(
        sa.update(RightsRequest)
        .where(RightsRequest.debtor_id == debtor_id)
        .values(request_text=None, rectification_wrong=None, rectification_right=None, conversation_id=None)
    )
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


def apply_retention(settings: Settings, plan: RetentionPlan, *, now: Optional[datetime] = None) -> None:
    """Carries out `plan`: case database first (one transaction), then the tracker store and the
    SMS spool."""
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
            for case in plan.cases:
                _unlink_case(connection, case, now)
            for debtor_id in plan.debtor_ids:
                # Only if no case came to them since the plan was made.
                if connection.execute(sa.select(Case.id).where(Case.debtor_id == debtor_id).limit(1)).first() is None:
                    _anonymise_debtor(connection, debtor_id)
            # The number an SMS conversation came from is kept only as long as the conversation.
            connection.execute(sa.delete(SmsConversation).where(SmsConversation.last_inbound_at < plan.silent_since))
            _audit(
                connection,
                now=now,
                actor=ACTOR,
                action="retention.apply",
                subject_type="retention",
                subject_id=None,
                detail=f"cases={len(plan.cases)},debtors={len(plan.debtor_ids)}",
            )
    finally:
        engine.dispose()
    delete_tracker_conversations(settings, conversations)
    delete_old_spool_rows(settings, plan.silent_since)


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
