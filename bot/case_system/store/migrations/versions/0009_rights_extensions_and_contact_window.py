"""Rights-request extensions and refusals; agency-initiated messages held for the contact window.

Revision ID: 0009_rights_extensions_and_contact_window
Revises: 0008_notice_deadlines
Create Date: 2026-12-06

- rights_requests: an extension by up to two further months (GDPR Art. 12(3)) with its reason,
  who made it and when; a refusal's reason (Art. 12(4)); what became of the notice to the debtor
  about each (queued, suppressed or no channel that reaches them).
- outbound_messages: whether the agency starts the message (then it waits for the contact
  window), the earliest moment it may be sent, and a unique key so that a reminder, receipt or
  breach notice is never queued twice.
- payments: an idempotency key, so that registering the same payment again changes nothing.
- alembic_version.version_num widened to 64 characters (PostgreSQL) for this revision's long id;
  a downgrade leaves it wide.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_rights_extensions_and_contact_window"
down_revision = "0008_notice_deadlines"
branch_labels = None
depends_on = None

RIGHTS_COLUMNS = (
    ("extended_months", sa.Integer),
    ("extension_reason", sa.Text),
    ("extended_at", sa.DateTime(timezone=True)),
    ("extended_by", sa.String(100)),
    ("extension_notice", sa.String(16)),
    ("refusal_reason", sa.Text),
    ("refused_at", sa.DateTime(timezone=True)),
    ("refusal_notice", sa.String(16)),
)


def upgrade() -> None:
    # This revision's id is longer than Alembic's VARCHAR(32) version column; PostgreSQL enforces
    # the length (SQLite does not). Widened first: Alembic writes the new id after upgrade() runs.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("alembic_version", "version_num", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("rights_requests") as batch:
        for name, kind in RIGHTS_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("agency_initiated", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(100), nullable=True))
        batch.create_unique_constraint("uq_outbound_messages_idempotency_key", ["idempotency_key"])
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(100), nullable=True))
        batch.create_unique_constraint("uq_payments_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint("uq_outbound_messages_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("not_before")
        batch.drop_column("agency_initiated")
    with op.batch_alter_table("rights_requests") as batch:
        for name, _kind in reversed(RIGHTS_COLUMNS):
            batch.drop_column(name)
