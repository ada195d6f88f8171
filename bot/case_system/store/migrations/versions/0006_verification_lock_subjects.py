"""Verification locks per subject: a typed case number or a debtor.

Revision ID: 0006_lock_subjects
Revises: 0005_notice_sent_on
Create Date: 2026-11-25

Locks were keyed by the typed case number only, so a debtor with several cases got three guesses
per case. They are now keyed by `subject` (`case:<number>` or `debtor:<id>`), and the count is of
attempts reserved rather than failures recorded (verification.py). Existing rows become
`case:<number>` rows with their count and lock; a downgrade keeps the case rows and drops the
debtor rows, which the old schema cannot hold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_lock_subjects"
down_revision = "0005_notice_sent_on"
branch_labels = None
depends_on = None

OLD = "verification_locks_0005"


def _set_aside_old_table() -> None:
    op.rename_table("verification_locks", OLD)
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL constraint (and index) names are unique per schema; the new table needs this one.
        op.execute(f'ALTER TABLE "{OLD}" RENAME CONSTRAINT pk_verification_locks TO pk_{OLD}')


def upgrade() -> None:
    _set_aside_old_table()
    op.create_table(
        "verification_locks",
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_verification_locks"),
    )
    op.execute(
        "INSERT INTO verification_locks (subject, attempt_count, locked_until, updated_at) "
        f"SELECT 'case:' || case_number, failure_count, locked_until, updated_at FROM {OLD}"
    )
    op.drop_table(OLD)


def downgrade() -> None:
    _set_aside_old_table()
    op.create_table(
        "verification_locks",
        sa.Column("case_number", sa.String(8), nullable=False),
        sa.Column("failure_count", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_number", name="pk_verification_locks"),
    )
    op.execute(
        "INSERT INTO verification_locks (case_number, failure_count, locked_until, updated_at) "
        f"SELECT substr(subject, 6), attempt_count, locked_until, updated_at FROM {OLD} "
        "WHERE subject LIKE 'case:%'"
    )
    op.drop_table(OLD)
