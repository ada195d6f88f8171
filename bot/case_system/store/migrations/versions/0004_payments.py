"""Payments: the fee-review flag on cases.

Revision ID: 0004_payments
Revises: 0003_sms
Create Date: 2026-11-25

Payment plans, installments, postponements and disputes exist since 0001; the outbox that
carries plan confirmations since 0003_sms. A case whose fee is above its legal cap is flagged
with the time it was sent for review, and a case has at most one active payment plan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_payments"
down_revision = "0003_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding a nullable column needs no table rebuild on SQLite, so no batch mode.
    op.add_column("cases", sa.Column("fee_review_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_payment_plans_active_case",
        "payment_plans",
        ["case_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("uq_payment_plans_active_case", table_name="payment_plans")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("fee_review_requested_at")
