"""Alembic environment for the case-system database.

Runs with a blocking driver (sqlite3 or psycopg2). The URL comes from the Alembic config (set by
`bot.case_system.store.database.alembic_config`) or, from the `alembic` command line without one, from
`DATABASE_URL` through `bot.config.load_settings`. SQLite gets batch mode, because it cannot
alter most constraints in place.
"""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlalchemy.pool import NullPool

from bot.case_system.store.database import ensure_sqlite_directory
from bot.case_system.store.models import Base
from bot.config import load_settings, to_sync_url

config = context.config
if config.config_file_name is not None:  # the alembic command line with alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return to_sync_url(url or load_settings().database_url)


def _configure(**options) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **options)


def run_migrations_offline() -> None:
    url = _database_url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller lent us its connection
        _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    url = _database_url()
    ensure_sqlite_directory(url)
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.connect() as connection:
            _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
