"""Retention case by case: the privacy notice removes "the personal link to a case at the latest 3
years after the case's closing date", for each case on its own.

On the demo data, Kari Nordmann (open case 100001) also gets an old case, 100099, closed on
10 January 2026; Ingrid Dahl's only case, 100006, closed on 20 March 2026. On 1 February 2029 only
100099 is due: it moves to an anonymous stand-in debtor and loses its free text, while Kari keeps
her name and her open case. On 21 March 2029 Ingrid's case follows, and Ingrid, left without a
case, is anonymised.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import cli
from bot.case_system.contract.enums import CaseStatus, Channel, LineType, RightsRequestType
from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.store.database import engine_for_url, session_factory
from bot.case_system.store.models import (
    AuditEvent,
    Case,
    ClaimLineRecord,
    Debtor,
    Dispute,
    Handoff,
    PaymentRecord,
    RightsRequest,
    SmsConversation,
)
from bot.channels.sms_spool import spool_table
from bot.retention import apply_retention, plan_retention
from tests.bot.case_system.conftest import (  # noqa: F401 (fixtures)
    database_url,
    make_settings,
    migrated_postgres_url,
    migrated_sqlite_template,
    postgres_available,
)

OLD_CASE = "100099"
OLD_CASE_CLOSED = date(2026, 1, 10)
ONLY_THE_OLD_CASE_DUE = datetime(2029, 2, 1, 12, 0, tzinfo=timezone.utc)
INGRIDS_CASE_DUE_TOO = datetime(2029, 3, 21, 12, 0, tzinfo=timezone.utc)
AT = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
async def stores(database_url, tmp_path: Path):  # noqa: F811
    settings = make_settings(database_url, TRACKER_STORE_URL=f"sqlite:///{tmp_path / 'tracker.db'}")
    engine = engine_for_url(database_url)
    try:
        async with session_factory(engine)() as session:
            assert await load_demo_data(session, settings)
    finally:
        await engine.dispose()

    cases = sa.create_engine(database_url, future=True)
    with cases.begin() as connection:
        kari = connection.execute(sa.select(Case).where(Case.case_number == "100001")).one()
        case_id = connection.execute(
            sa.insert(Case).values(
                case_number=OLD_CASE,
                debtor_id=kari.debtor_id,
                creditor_id=kari.creditor_id,
                description="Tannbehandling november 2025",
                invoice_number="F-2025-1188",
                invoice_date=date(2025, 11, 3),
                due_date=date(2025, 11, 17),
                principal=Decimal("1850.00"),
                stage=kari.stage,
                status=CaseStatus.CLOSED,
                kid="00001000991",
                closed_on=OLD_CASE_CLOSED,
            )
        ).inserted_primary_key[0]
        connection.execute(
            sa.insert(ClaimLineRecord).values(
                case_id=case_id,
                type=LineType.REMINDER_FEE.value,
                amount=Decimal("37.50"),
                description="Purregebyr tannlege",
                charged_on=date(2025, 12, 4),
            )
        )
        connection.execute(
            sa.insert(PaymentRecord).values(
                case_id=case_id, paid_on=OLD_CASE_CLOSED, amount=Decimal("1912.40"), reference="00001000991"
            )
        )
        connection.execute(
            sa.insert(Dispute).values(
                case_id=case_id,
                reason="Jeg lå på sykehus i november",
                created_via=Channel.WEB,
                conversation_id="kari-old-chat",
                received_at=AT,
            )
        )
        connection.execute(
            sa.insert(RightsRequest).values(
                reference="R-OLD-1",
                type=RightsRequestType.ACCESS,
                received_at=AT,
                due_at=AT + timedelta(days=30),
                channel=Channel.WEB,
                conversation_id="kari-old-chat",
                case_id=case_id,
                debtor_id=kari.debtor_id,
                request_text="Send meg alt om tannlegeregningen",
            )
        )
        connection.execute(
            sa.insert(Handoff).values(
                conversation_id="kari-old-chat",
                channel=Channel.WEB,
                reason="requested",
                case_number=OLD_CASE,
                summary="Kari vil snakke om tannlegeregningen.",
                transcript=[{"sender": "user", "text": "tannlegen tok for mye", "at": AT.isoformat()}],
                note="Ringte henne",
                created_at=AT,
                updated_at=AT,
            )
        )
        connection.execute(
            sa.insert(AuditEvent).values(
                [
                    dict(
                        at=AT,
                        actor="assistant:web",
                        action="identity.verify",
                        subject_type="case",
                        subject_id=number,
                        purpose="identity_verification",
                        outcome="verified",
                        conversation_id=conversation,
                        detail="birth_date",
                    )
                    for number, conversation in ((OLD_CASE, "kari-old-chat"), ("100001", "kari-new-chat"))
                ]
            )
        )
        connection.execute(
            sa.insert(SmsConversation).values(conversation_id="kari-old-chat", phone="+4791234567", last_inbound_at=AT)
        )
    cases.dispose()

    tracker = sa.create_engine(settings.tracker_store_url, future=True)
    spool_table.metadata.create_all(tracker)
    with tracker.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255), timestamp FLOAT, data TEXT)"
            )
        )
        for sender, at in (("kari-old-chat", AT), ("kari-new-chat", ONLY_THE_OLD_CASE_DUE - timedelta(days=2))):
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": at.timestamp()},
            )
        for sid, sender, received in (
            ("SM-old", "kari-old-chat", AT),  # never finished: the number and text are still there
            ("SM-new", "kari-new-chat", ONLY_THE_OLD_CASE_DUE - timedelta(days=1)),
        ):
            connection.execute(
                sa.insert(spool_table).values(
                    message_sid=sid,
                    conversation_id=sender,
                    phone="+4791234567",
                    body="hei",
                    num_media=0,
                    too_long=False,
                    received_at=received,
                    stage="received",
                    replies_queued=0,
                    failures=0,
                    next_attempt_at=received,
                    claimed_until=datetime(1970, 1, 1, tzinfo=timezone.utc),
                )
            )
    tracker.dispose()
    return settings


def read(url: str, query, **params) -> list:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(query, params).all()
    finally:
        engine.dispose()


def debtor_of(settings, case_number: str):
    [row] = read(
        settings.database_url,
        sa.select(Debtor).join(Case, Case.debtor_id == Debtor.id).where(Case.case_number == case_number),
    )
    return row


def test_only_the_case_three_years_past_its_closing_is_due(stores):
    plan = plan_retention(stores, now=ONLY_THE_OLD_CASE_DUE)
    assert [case.case_number for case in plan.cases] == [OLD_CASE]
    assert plan.cases[0].conversations == ("kari-old-chat",)
    assert plan.debtor_ids == []  # Kari keeps her open case
    assert plan_retention(stores, now=datetime(2029, 1, 9, 12, tzinfo=timezone.utc)).cases == []
    # "At the latest 3 years after": on the anniversary itself the case is due.
    assert len(plan_retention(stores, now=datetime(2029, 1, 10, 12, tzinfo=timezone.utc)).cases) == 1


def test_an_old_case_leaves_its_debtor_while_her_open_case_stays_hers(stores):
    kari_before = debtor_of(stores, "100001")
    apply_retention(stores, plan_retention(stores, now=ONLY_THE_OLD_CASE_DUE), now=ONLY_THE_OLD_CASE_DUE)

    kari = debtor_of(stores, "100001")
    assert kari == kari_before and kari.first_name == "Kari" and kari.phone
    stand_in = debtor_of(stores, OLD_CASE)
    assert stand_in.id != kari.id
    assert (stand_in.first_name, stand_in.last_name, stand_in.phone) == ("anonymisert", "anonymisert", None)
    assert stand_in.national_id.startswith("S") and stand_in.birth_date == date(1900, 1, 1)
    assert debtor_of(stores, "100006").first_name == "Ingrid"  # not due yet

    [case] = read(stores.database_url, sa.select(Case).where(Case.case_number == OLD_CASE))
    assert case.description == ""
    # Amounts and dates stay for the accounting period.
    assert (case.principal, case.closed_on, case.due_date, case.kid) == (
        Decimal("1850.00"),
        OLD_CASE_CLOSED,
        date(2025, 11, 17),
        "00001000991",
    )
    lines = read(stores.database_url, sa.select(ClaimLineRecord).where(ClaimLineRecord.case_id == case.id))
    assert [(line.description, line.amount, line.charged_on) for line in lines] == [
        ("", Decimal("37.50"), date(2025, 12, 4))
    ]
    payments = read(stores.database_url, sa.select(PaymentRecord.amount).where(PaymentRecord.case_id == case.id))
    assert payments == [(Decimal("1912.40"),)]

    [dispute] = read(stores.database_url, sa.select(Dispute).where(Dispute.case_id == case.id))
    assert (dispute.reason, dispute.conversation_id) == ("", None)
    [request] = read(stores.database_url, sa.select(RightsRequest).where(RightsRequest.case_id == case.id))
    assert (request.request_text, request.debtor_id, request.conversation_id) == (None, stand_in.id, None)
    [handoff] = read(stores.database_url, sa.select(Handoff).where(Handoff.conversation_id == "kari-old-chat"))
    assert (handoff.transcript, handoff.summary, handoff.note, handoff.case_number) == ([], "", None, None)
    assert read(stores.database_url, sa.select(SmsConversation)) == []

    audits = read(
        stores.database_url,
        sa.select(AuditEvent.subject_id, AuditEvent.detail, AuditEvent.conversation_id).where(
            AuditEvent.action == "retention.case_unlinked"
        ),
    )
    assert audits == [(OLD_CASE, "closed_on=2026-01-10", None)]
    verified = read(
        stores.database_url,
        sa.select(AuditEvent.subject_id, AuditEvent.conversation_id).where(AuditEvent.action == "identity.verify"),
    )
    assert sorted(verified) == [("100001", "kari-new-chat"), (OLD_CASE, None)]

    senders = read(stores.tracker_store_url, sa.text("SELECT DISTINCT sender_id FROM events"))
    assert senders == [("kari-new-chat",)]
    spooled = read(stores.tracker_store_url, sa.select(spool_table.c.message_sid))
    assert spooled == [("SM-new",)]

    again = plan_retention(stores, now=ONLY_THE_OLD_CASE_DUE)
    assert again.cases == []  # unlinked once


def test_a_debtor_whose_every_case_is_unlinked_is_anonymised(stores):
    apply_retention(stores, plan_retention(stores, now=ONLY_THE_OLD_CASE_DUE), now=ONLY_THE_OLD_CASE_DUE)
    ingrid_id = debtor_of(stores, "100006").id
    plan = plan_retention(stores, now=INGRIDS_CASE_DUE_TOO)
    assert [case.case_number for case in plan.cases] == ["100006"] and plan.debtor_ids == [ingrid_id]
    apply_retention(stores, plan, now=INGRIDS_CASE_DUE_TOO)

    [ingrid] = read(stores.database_url, sa.select(Debtor).where(Debtor.id == ingrid_id))
    assert (ingrid.first_name, ingrid.phone) == ("anonymisert", None) and ingrid.national_id != "30896410004"
    assert debtor_of(stores, "100006").id != ingrid_id  # the case went to its own stand-in first
    assert debtor_of(stores, "100001").first_name == "Kari"


def test_a_dry_run_with_a_clock_ahead_shows_each_case_and_changes_nothing(stores, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", stores.database_url)
    monkeypatch.setenv("TRACKER_STORE_URL", stores.tracker_store_url)
    assert cli.main(["retention", "--dry-run", "--as-of", "2029-12-31"]) == 0
    output = capsys.readouterr().out
    assert "would change:   case 100099 (closed 2026-01-10): 1 conversation(s); debtor keeps other cases" in output
    assert (
        "would change:   case 100006 (closed 2026-03-20): 0 conversation(s); no other case, debtor anonymised" in output
    )
    assert "case 100001" not in output
    assert "Kari" not in output and "Ingrid" not in output and "Tannbehandling" not in output
    assert debtor_of(stores, OLD_CASE).first_name == "Kari"


def test_a_clock_ahead_changes_data_only_in_demo_mode(stores, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", stores.database_url)
    monkeypatch.setenv("TRACKER_STORE_URL", stores.tracker_store_url)
    monkeypatch.setenv("DEMO_MODE", "false")
    assert cli.main(["retention", "--as-of", "2029-12-31"]) == 2
    assert debtor_of(stores, OLD_CASE).first_name == "Kari"
