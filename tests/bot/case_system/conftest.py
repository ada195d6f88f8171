"""Fixtures for the case-system API tests: a migrated database per test on SQLite and PostgreSQL,
the app on a loopback test server, a clock the tests move, and row counting.

PostgreSQL: one uniquely named database per test session (created from the server at
127.0.0.1:5432, migrated once, dropped at the end); tables are emptied before each test. Those
parameters are skipped, with the reason, when the server cannot be reached.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator, Iterator, Optional

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.http.app import create_app
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.database import upgrade_database
from bot.case_system.store.models import AuditEvent, Base, VerificationLock
from bot.config import Settings, load_settings

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
API_KEY = "test-case-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# Inside the demo data's world: every demo due date is before this day.
TODAY_UTC = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_unreachable_reason(url: str = POSTGRES_URL) -> Optional[str]:
    """Why PostgreSQL at `url` cannot be used, or None when it can."""
    import psycopg2

    try:
        connection = psycopg2.connect(str(make_url(url)), connect_timeout=3)
    except psycopg2.Error as error:
        return f"PostgreSQL at {make_url(url).host}:{make_url(url).port} is unreachable ({type(error).__name__})"
    connection.close()
    return None


def create_postgres_database(prefix: str = "debtbot_test") -> str:
    """A new, empty, uniquely named database on the test server; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    return str(make_url(POSTGRES_URL).set(database=name))


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(statement: str) -> None:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_available) -> Iterator[str]:
    url = create_postgres_database()
    try:
        upgrade_database(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def fresh_postgres_url(postgres_available) -> Iterator[str]:
    """A brand-new PostgreSQL database without any tables, dropped after the test."""
    url = create_postgres_database("debtbot_fresh")
    try:
        yield url
    finally:
        drop_postgres_database(url)


def _empty_postgres_tables(url: str) -> None:
    tables = ", ".join(f'"{name}"' for name in Base.metadata.tables)
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


# --- SQLite --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


# --- the database under test ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A migrated, empty case database: a fresh SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "case.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_postgres_url")
    _empty_postgres_tables(url)
    return url


def make_settings(database_url: str, **overrides: str) -> Settings:
    env = {"CASE_API_KEY": API_KEY, "DATABASE_URL": database_url, "DEMO_MODE": "true"}
    env.update(overrides)
    return load_settings(env=env, env_file=Path("/nonexistent/.env"))


@pytest.fixture
def settings(database_url) -> Settings:
    return make_settings(database_url)


class FakeClock:
    """The app's clock; tests move it instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TODAY_UTC)


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers that authenticate as the configured API client."""
    return dict(AUTH)


@pytest.fixture
def client_factory(database_url, clock):
    """Start the app with changed settings: `async with client_factory(DEMO_MODE="false") as c:`."""

    @contextlib.asynccontextmanager
    async def start(*, load_demo: bool = False, **env: str) -> AsyncIterator[TestClient]:
        url = env.pop("DATABASE_URL", database_url)
        settings = make_settings(url, **env)
        async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
            if load_demo:
                async with client.app[CASE_SYSTEM].sessions() as session:
                    assert await load_demo_data(session, settings)
            yield client

    return start


@pytest.fixture
async def empty_client(settings, clock) -> AsyncIterator[TestClient]:
    """A client for the API on a loopback test server, over an empty database."""
    async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
        yield client


@pytest.fixture
async def client(empty_client, settings) -> TestClient:
    """A client for the API over the demo data."""
    async with empty_client.app[CASE_SYSTEM].sessions() as session:
        assert await load_demo_data(session, settings)
    return empty_client


# --- looking at what was written -----------------------------------------------------------------


class DatabaseProbe:
    """Reads what a client's app wrote, straight from its database."""

    def __init__(self, client: TestClient) -> None:
        self._system = client.app[CASE_SYSTEM]

    async def counts(self) -> dict[str, int]:
        """Rows per table."""
        counts = {}
        async with self._system.engine.connect() as connection:
            for name, table in Base.metadata.tables.items():
                query = sa.select(sa.func.count()).select_from(table)
                counts[name] = (await connection.execute(query)).scalar_one()
        return counts

    async def audit_events(self) -> list[AuditEvent]:
        async with self._system.sessions() as session:
            return list((await session.execute(sa.select(AuditEvent).order_by(AuditEvent.id))).scalars())

    async def lock(self, case_number: str) -> Optional[tuple[int, Optional[datetime]]]:
        """(attempt_count, locked_until) of a typed case number's verification lock, if any."""
        return await self.subject_lock(f"case:{case_number}")

    async def subject_lock(self, subject: str) -> Optional[tuple[int, Optional[datetime]]]:
        """(attempt_count, locked_until) of a lock subject (`case:<number>`, `debtor:<id>`), if any."""
        locks = VerificationLock.__table__
        query = sa.select(locks.c.attempt_count, locks.c.locked_until).where(locks.c.subject == subject)
        async with self._system.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else (row.attempt_count, row.locked_until)


@pytest.fixture
def probe(empty_client) -> DatabaseProbe:
    """What the `client` (or `empty_client`) app wrote."""
    return DatabaseProbe(empty_client)


@pytest.fixture
def probe_for():
    """A `DatabaseProbe` for a client started with `client_factory`."""
    return DatabaseProbe


# --- caseworkers and the dialogue server's API ---------------------------------------------------

CONVERSATION_KEY = "test-conversation-id-key"


@pytest.fixture
async def rasa():
    """The stand-in for the dialogue server's HTTP API on 127.0.0.1, recording every call."""
    from tests.fakes.rasa_http_api import FakeRasaApi

    fake = await FakeRasaApi().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def desk_env(rasa) -> dict[str, str]:
    """Settings that point the backoffice at the stand-in dialogue server."""
    return {"DIALOGUE_SERVER_URL": rasa.url, "RASA_API_TOKEN": rasa.token, "CONVERSATION_ID_KEY": CONVERSATION_KEY}


@pytest.fixture
async def desk_client(client_factory, desk_env) -> AsyncIterator[TestClient]:
    """A client for the API over the demo data, with the stand-in dialogue server."""
    async with client_factory(load_demo=True, **desk_env) as client:
        yield client


async def add_caseworker(
    client: TestClient,
    username: str,
    *,
    role: str = "caseworker",
    password: Optional[str] = None,
    active: bool = True,
    name: str = "Anne Saksbehandler",
) -> int:
    """A caseworker account straight in the database (a password only when one is given: argon2 is slow)."""
    from bot.case_system.contract.enums import CaseworkerRole
    from bot.case_system.domain.caseworkers import hash_password
    from bot.case_system.store.models import Caseworker

    async with client.app[CASE_SYSTEM].sessions() as session:
        caseworker = Caseworker(
            username=username,
            name=name,
            role=CaseworkerRole(role),
            password_hash=hash_password(password) if password else None,
            active=active,
            failed_logins=0,
            created_at=TODAY_UTC,
        )
        session.add(caseworker)
        await session.commit()
        return caseworker.id


def acting_for(username: str) -> dict[str, str]:
    """Headers of an integration acting for a caseworker."""
    return {**AUTH, "X-Actor": f"caseworker:{username}"}
