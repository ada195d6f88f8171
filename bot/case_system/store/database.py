"""Engine, sessions and migrations of the case-system database.

The running servers use the async engine only (aiosqlite or asyncpg). Migrations run through
Alembic with the blocking driver, from the CLI or setup, never inside a request.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.config import Settings, to_async_url, to_sync_url

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(settings: Settings) -> AsyncEngine:
    """The async engine for the case-system database named in `settings`."""
    return engine_for_url(settings.async_database_url)


def engine_for_url(url: str) -> AsyncEngine:
    """An async engine for `url` (a sync URL is switched to its asyncio driver)."""
    url = to_async_url(url)
    # Statement parameters can be identity numbers: keep them out of exception text and logs.
    options: dict = {"future": True, "hide_parameters": True}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # aiosqlite defaults to a new connection (and thread) per checkout; pool them instead.
            options.update(poolclass=AsyncAdaptedQueuePool, pool_size=5, max_overflow=15)
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options.update(pool_size=5, max_overflow=15, pool_pre_ping=True)
    return create_async_engine(url, **options)


def _configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    # WAL lets readers run while one writer commits; the busy timeout makes concurrent writers
    # queue instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> sessionmaker:
    """Sessions bound to `engine`; objects stay readable after commit (we serialise after it)."""
    return sessionmaker(bind=engine, class_=AsyncSession, expire_on_commit=False, future=True)


def alembic_config(database_url: str):
    """Alembic's configuration for `database_url`, without an ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", to_sync_url(database_url).replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Run the migrations up to `revision`.

    Blocking (Alembic uses the sync driver): call it from the CLI or setup, or through
    `asyncio.to_thread` from async code, never directly inside a request.
    """
    from alembic import command

    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the directory of a SQLite database file (SQLite makes the file, not its folder)."""
    parsed = make_url(to_sync_url(database_url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


async def ping(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    """Whether the database answers a trivial query within `timeout` seconds."""

    async def select_one() -> None:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    try:
        await asyncio.wait_for(select_one(), timeout)
        return True
    except Exception as error:  # any driver or network failure means "unreachable"
        log.warning("case database ping failed: %s", type(error).__name__)
        return False
