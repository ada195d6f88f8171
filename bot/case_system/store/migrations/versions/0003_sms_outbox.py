"""SMS: the outbound message outbox, opt-outs, and inbound message ids for deduplication.

Revision ID: 0003_sms
Revises: 0002_rights_requests
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sms"
down_revision = "0002_rights_requests"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("to_phone", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "suppressed",
                name="outbound_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        _timestamp("next_attempt_at", nullable=True),
        _timestamp("created_at"),
        _timestamp("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_messages"),
        sa.UniqueConstraint("provider_id", name="uq_outbound_messages_provider_id"),
    )
    op.create_index("ix_outbound_messages_status_to_phone", "outbound_messages", ["status", "to_phone", "id"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(20), nullable=False),
        _timestamp("opted_out_at"),
        sa.PrimaryKeyConstraint("phone", name="pk_sms_opt_outs"),
    )
    op.create_table(
        "inbound_sms",
        sa.Column("message_sid", sa.String(64), nullable=False),
        _timestamp("received_at"),
        sa.PrimaryKeyConstraint("message_sid", name="pk_inbound_sms"),
    )


def downgrade() -> None:
    op.drop_table("inbound_sms")
    op.drop_table("sms_opt_outs")
    op.drop_index("ix_outbound_messages_status_to_phone", table_name="outbound_messages")
    op.drop_table("outbound_messages")
