"""Alembic migrations of the case-system database (see `bot.case_system.store.database.upgrade_database`)."""
