"""The case system's storage: SQLAlchemy models, the database, queries and Alembic migrations."""
