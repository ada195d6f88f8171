"""Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL, from empty."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.case_system.store.database import (
    alembic_config,
    downgrade_database,
    engine_for_url,
    session_factory,
    upgrade_database,
)
from bot.case_system.store.models import Base
from bot.case_system.store.queries import is_empty


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A database with no tables at all (not the migrated one the API tests share)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'dir' / 'case.db'}"  # the directory is made too
        return
    yield request.getfixturevalue("fresh_postgres_url")


def _inspect(url: str):
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            version = None
            if "alembic_version" in tables:
                version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            migration_context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(migration_context, Base.metadata)
        return tables, version, differences
    finally:
        engine.dispose()


def test_upgrade_builds_the_models_schema_on_an_empty_database(empty_database_url):
    upgrade_database(empty_database_url)
    tables, version, differences = _inspect(empty_database_url)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert version == ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert differences == []  # migrations and models agree column for column


def test_upgrade_is_repeatable_and_downgrade_removes_everything(empty_database_url):
    upgrade_database(empty_database_url)
    upgrade_database(empty_database_url)  # already at head: nothing to do, no error
    downgrade_database(empty_database_url, "base")
    tables, version, _ = _inspect(empty_database_url)
    assert tables <= {"alembic_version"} and version is None
    upgrade_database(empty_database_url)
    assert _inspect(empty_database_url)[0] >= set(Base.metadata.tables)


def test_migrations_form_a_single_line_of_history():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert [revision.down_revision for revision in script.walk_revisions()][-1] is None


async def test_a_migrated_database_starts_empty(database_url):
    engine = engine_for_url(database_url)
    try:
        async with session_factory(engine)() as session:
            assert await is_empty(session)
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    url = f"sqlite:///{tmp_path / 'case.db'}"
    upgrade_database(url)
    engine = engine_for_url(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(sa.text("PRAGMA busy_timeout"))).scalar() >= 1000
            assert (await connection.execute(sa.text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


def test_lock_subjects_migration_keeps_the_locks_in_force(empty_database_url):
    # 0006 re-keys verification locks by subject; a lock in force when it runs must survive it.
    until = "2026-11-25 10:00:00"
    upgrade_database(empty_database_url, "0005_notice_sent_on")
    _execute(
        empty_database_url,
        "INSERT INTO verification_locks (case_number, failure_count, locked_until, updated_at) "
        f"VALUES ('100001', 3, '{until}', '{until}')",
    )
    upgrade_database(empty_database_url, "0006_lock_subjects")
    assert _rows(empty_database_url, "SELECT subject, attempt_count FROM verification_locks") == [("case:100001", 3)]

    _execute(
        empty_database_url,
        f"INSERT INTO verification_locks (subject, attempt_count, updated_at) VALUES ('debtor:1', 2, '{until}')",
    )
    downgrade_database(empty_database_url, "0005_notice_sent_on")  # debtor locks have no place there
    assert _rows(empty_database_url, "SELECT case_number, failure_count FROM verification_locks") == [("100001", 3)]


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def _rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()
