"""`debtbot retention`: what is anonymised or deleted, and when (on SQLite and PostgreSQL).

Demo case 100006 (Ingrid Dahl) was closed on 2026-03-20: its personal link must be anonymised at
the latest three years later. Conversations are kept for three years after the last contact.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import cli
from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.store.database import engine_for_url, session_factory
from bot.retention import apply_retention, erase_conversation, plan_retention
from tests.bot.case_system.conftest import make_settings

CLOSED_ON = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
DAY_BEFORE_DEADLINE = datetime(2029, 3, 19, 12, 0, tzinfo=timezone.utc)
DAY_AFTER_DEADLINE = datetime(2029, 3, 21, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
async def stores(database_url, tmp_path: Path):
    settings = make_settings(database_url, TRACKER_STORE_URL=f"sqlite:///{tmp_path / 'tracker.db'}")
    engine = engine_for_url(database_url)
    try:
        async with session_factory(engine)() as session:
            assert await load_demo_data(session, settings)
    finally:
        await engine.dispose()
    cases = sa.create_engine(database_url, future=True)
    with cases.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (at, actor, action, subject_type, subject_id, purpose, outcome, conversation_id, detail) "
                "VALUES (:at, 'assistant:web', 'identity.verify', 'case', :case, 'identity_verification', 'verified', :conversation, 'birth_date')"
            ),
            [
                {"at": CLOSED_ON.replace(tzinfo=None), "case": "100006", "conversation": "ingrid-chat"},
                {"at": CLOSED_ON.replace(tzinfo=None), "case": "100001", "conversation": "kari-chat"},
            ],
        )
        connection.execute(
            sa.text(
                "INSERT INTO handoffs (reference, conversation_id, channel, reason, priority, status, case_number, summary, transcript, created_at, updated_at) "
                "VALUES ('H-KARI01', 'kari-chat', 'web', 'requested', 'normal', 'closed', '100001', 'Reason: requested.', :transcript, :at, :at)"
            ),
            {
                "transcript": json.dumps([{"sender": "user", "text": "hei", "at": "2026-03-01T10:00:00+00:00"}]),
                "at": CLOSED_ON.replace(tzinfo=None),
            },
        )
    cases.dispose()
    tracker = sa.create_engine(settings.tracker_store_url, future=True)
    with tracker.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255), timestamp FLOAT, data TEXT)"
            )
        )
        rows = [
            ("ingrid-chat", CLOSED_ON.timestamp() + 2 * 86400),  # last contact two days after closing
            ("kari-chat", DAY_BEFORE_DEADLINE.timestamp() - 86400),  # recent contact
            ("silent-chat", CLOSED_ON.timestamp() - 86400 * 30),  # nobody has written for over 3 years
        ]
        for sender, at in rows:
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": at},
            )
    tracker.dispose()
    return settings


def tracker_conversations(settings) -> set[str]:
    engine = sa.create_engine(settings.tracker_store_url, future=True)
    with engine.connect() as connection:
        found = set(connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars())
    engine.dispose()
    return found


def debtor(settings, case_number: str) -> dict:
    engine = sa.create_engine(settings.database_url, future=True)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT d.first_name, d.last_name, d.national_id, d.phone, d.birth_date FROM debtors d "
                "JOIN cases c ON c.debtor_id = d.id WHERE c.case_number = :case"
            ),
            {"case": case_number},
        ).one()
    engine.dispose()
    return dict(row._mapping)


def test_nothing_is_due_before_three_years_have_passed(stores):
    plan = plan_retention(stores, now=DAY_BEFORE_DEADLINE)
    assert plan.expired_case_ids == [] and plan.debtor_ids == []
    assert plan.stale_conversations == ["silent-chat"]  # silent for more than 3 years already


def test_three_years_after_closing_the_personal_link_is_anonymised(stores):
    plan = plan_retention(stores, now=DAY_AFTER_DEADLINE)
    assert len(plan.expired_case_ids) == 1 and len(plan.debtor_ids) == 1
    assert plan.case_conversations == ["ingrid-chat"]
    apply_retention(stores, plan, now=DAY_AFTER_DEADLINE)

    ingrid = debtor(stores, "100006")
    assert (ingrid["first_name"], ingrid["last_name"], ingrid["phone"]) == ("anonymisert", "anonymisert", None)
    assert ingrid["national_id"] != "30896410004" and len(ingrid["national_id"]) == 11
    assert debtor(stores, "100001")["first_name"] == "Kari"  # an open case keeps its debtor
    assert tracker_conversations(stores) == {"kari-chat"}  # Ingrid's and the silent one are gone

    engine = sa.create_engine(stores.database_url, future=True)
    with engine.connect() as connection:
        linked = connection.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE conversation_id = 'ingrid-chat'")
        ).scalar_one()
        runs = connection.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'retention.apply'")
        ).scalar_one()
    engine.dispose()
    assert linked == 0 and runs == 1


def test_a_dry_run_prints_what_would_change_and_changes_nothing(stores, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", stores.database_url)
    monkeypatch.setenv("TRACKER_STORE_URL", stores.tracker_store_url)
    monkeypatch.setenv("RETENTION_CASE_LINK_YEARS", "0")  # today is past every closing date
    assert cli.main(["retention", "--dry-run"]) == 0
    output = capsys.readouterr().out
    assert "would change: debtors anonymised (all their cases closed before then): 1" in output
    assert "Ingrid" not in output and "30896410004" not in output
    assert debtor(stores, "100006")["first_name"] == "Ingrid"
    assert tracker_conversations(stores) == {"ingrid-chat", "kari-chat", "silent-chat"}


def test_a_caseworker_can_erase_one_conversation(stores):
    deleted = erase_conversation(stores, "kari-chat", actor="caseworker:anne", now=DAY_BEFORE_DEADLINE)
    assert deleted == 1
    assert tracker_conversations(stores) == {"ingrid-chat", "silent-chat"}
    engine = sa.create_engine(stores.database_url, future=True)
    with engine.connect() as connection:
        transcript = connection.execute(
            sa.text("SELECT transcript FROM handoffs WHERE conversation_id = 'kari-chat'")
        ).scalar_one()
        erased = (
            connection.execute(sa.text("SELECT actor FROM audit_events WHERE action = 'conversation.erase'"))
            .scalars()
            .all()
        )
    engine.dispose()
    assert (json.loads(transcript) if isinstance(transcript, str) else transcript) == []
    assert erased == ["caseworker:anne"]


def test_erasing_a_conversation_also_forgets_what_was_said_to_a_caseworker_and_its_sms_number(stores):
    engine = sa.create_engine(stores.database_url, future=True)
    at = CLOSED_ON.replace(tzinfo=None)
    with engine.begin() as connection:
        handoff_id = connection.execute(
            sa.text("SELECT id FROM handoffs WHERE conversation_id = 'kari-chat'")
        ).scalar_one()
        connection.execute(sa.text("UPDATE handoffs SET note = 'Ringte om avtale' WHERE id = :id"), {"id": handoff_id})
        connection.execute(
            sa.text("INSERT INTO handoff_messages (handoff_id, sender, text, at) VALUES (:id, 'debtor', 'hei', :at)"),
            {"id": handoff_id, "at": at},
        )
        connection.execute(
            sa.text(
                "INSERT INTO sms_conversations (conversation_id, phone, last_inbound_at) VALUES ('kari-chat', '+4791234567', :at)"
            ),
            {"at": at},
        )
    erase_conversation(stores, "kari-chat", actor="caseworker:anne", now=DAY_BEFORE_DEADLINE)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM handoff_messages")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM sms_conversations")).scalar_one() == 0
        assert (
            connection.execute(sa.text("SELECT note FROM handoffs WHERE id = :id"), {"id": handoff_id}).scalar_one()
            is None
        )
    engine.dispose()
