"""Alembic migrations of the case-system database (see `bot.case_system.db.upgrade_database`)."""
