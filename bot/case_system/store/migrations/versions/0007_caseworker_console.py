"""Caseworkers take handoffs: accounts with passwords and roles, handoff states and messages, and
the number each SMS conversation comes from.

Revision ID: 0007_caseworker_console
Revises: 0006_lock_subjects
Create Date: 2026-11-26

- caseworkers: display name, role, argon2 password hash, failed logins and lock, last login.
- handoffs: the states `returned` and `resolved`; when it was taken, returned and resolved; the
  outcome and the caseworker's note. The one-active-handoff index (open, taken) is unchanged.
- handoff_messages: what the debtor, the caseworker and the assistant said since the handoff.
- sms_conversations: an SMS conversation's id is a keyed hash of the number, so a reply to it
  needs the number kept beside the id (written when an inbound SMS is recorded).
- audit_events.conversation_id is indexed: the queue asks which conversations were verified.

A downgrade turns returned and resolved handoffs into `closed`, which the old schema knows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_caseworker_console"
down_revision = "0006_lock_subjects"
branch_labels = None
depends_on = None

OLD_STATUSES = ("open", "taken", "closed")
NEW_STATUSES = ("open", "taken", "returned", "resolved", "closed")
OUTCOMES = ("paid", "plan_agreed", "dispute_registered", "rights_request", "other")


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=False, length=32)


def _check(values: tuple[str, ...], column: str) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _set_statuses(batch, values: tuple[str, ...]) -> None:
    batch.drop_constraint(op.f("ck_handoffs_handoff_status"), type_="check")
    batch.create_check_constraint(op.f("ck_handoffs_handoff_status"), sa.text(_check(values, "status")))


def upgrade() -> None:
    with op.batch_alter_table("caseworkers") as batch:
        batch.add_column(sa.Column("display_name", sa.String(100), nullable=True))
        batch.add_column(
            sa.Column(
                "role",
                _enum("caseworker_role", ("caseworker", "supervisor")),
                nullable=False,
                server_default="caseworker",
            )
        )
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(_timestamp("locked_until", nullable=True))
        batch.add_column(_timestamp("last_login_at", nullable=True))
        batch.create_check_constraint(
            op.f("ck_caseworkers_caseworker_role"), sa.text(_check(("caseworker", "supervisor"), "role"))
        )
    # The defaults only filled existing rows; the application always sets both.
    with op.batch_alter_table("caseworkers") as batch:
        batch.alter_column("role", server_default=None)
        batch.alter_column("failed_logins", server_default=None)

    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(_timestamp("taken_at", nullable=True))
        batch.add_column(_timestamp("returned_at", nullable=True))
        batch.add_column(_timestamp("resolved_at", nullable=True))
        batch.add_column(sa.Column("outcome", _enum("handoff_outcome", OUTCOMES), nullable=True))
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
        _set_statuses(batch, NEW_STATUSES)
        batch.create_check_constraint(op.f("ck_handoffs_handoff_outcome"), sa.text(_check(OUTCOMES, "outcome")))

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("handoff_id", sa.Integer, nullable=False),
        sa.Column(
            "sender",
            sa.Enum(
                "debtor",
                "caseworker",
                "assistant",
                name="message_sender",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("caseworker_id", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        _timestamp("at"),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_messages"),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name="fk_handoff_messages_handoff_id_handoffs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["caseworker_id"],
            ["caseworkers.id"],
            name="fk_handoff_messages_caseworker_id_caseworkers",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "sender IN ('debtor', 'caseworker', 'assistant')", name="ck_handoff_messages_message_sender"
        ),
    )
    op.create_index("ix_handoff_messages_handoff_id", "handoff_messages", ["handoff_id"])

    op.create_table(
        "sms_conversations",
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        _timestamp("last_inbound_at"),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_sms_conversations"),
    )
    op.create_index("ix_audit_events_conversation_id", "audit_events", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_conversation_id", table_name="audit_events")
    op.drop_table("sms_conversations")
    op.drop_index("ix_handoff_messages_handoff_id", table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.execute("UPDATE handoffs SET status = 'closed' WHERE status IN ('returned', 'resolved')")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_constraint(op.f("ck_handoffs_handoff_outcome"), type_="check")
        _set_statuses(batch, OLD_STATUSES)
        for column in ("note", "outcome", "resolved_at", "returned_at", "taken_at"):
            batch.drop_column(column)
    with op.batch_alter_table("caseworkers") as batch:
        batch.drop_constraint(op.f("ck_caseworkers_caseworker_role"), type_="check")
        for column in ("last_login_at", "locked_until", "failed_logins", "password_hash", "role", "display_name"):
            batch.drop_column(column)
