"""Notice dates: the day the letter of a case's current stage was sent.

Revision ID: 0005_notice_sent_on
Revises: 0004_payments
Create Date: 2026-11-25

The payment deadline the assistant states is counted from this day (payment_deadline.py). Cases
that existed before this revision get none, and are said to have no date until one is entered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_notice_sent_on"
down_revision = "0004_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding a nullable column needs no table rebuild on SQLite, so no batch mode.
    op.add_column("cases", sa.Column("notice_sent_on", sa.Date, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("notice_sent_on")
