"""Rights requests: a short reference, rectification details, the human-review handoff, data exports.

Revision ID: 0002_rights_requests
Revises: 0001
Create Date: 2026-11-25

SQLite cannot add constraints to an existing table, so the changes to `rights_requests` go
through Alembic's batch mode (which recreates the table there and alters it in place elsewhere).
Requests logged before this revision get their row id as reference.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rights_requests"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.add_column(sa.Column("reference", sa.String(12), nullable=True))
        batch.add_column(sa.Column("rectification_wrong", sa.Text, nullable=True))
        batch.add_column(sa.Column("rectification_right", sa.Text, nullable=True))
        batch.add_column(sa.Column("handoff_id", sa.Integer, nullable=True))
    op.execute("UPDATE rights_requests SET reference = 'PV-' || CAST(id AS VARCHAR(9)) WHERE reference IS NULL")
    with op.batch_alter_table("rights_requests") as batch:
        batch.alter_column("reference", existing_type=sa.String(12), nullable=False)
        batch.create_unique_constraint("uq_rights_requests_reference", ["reference"])
        batch.create_foreign_key(
            "fk_rights_requests_handoff_id_handoffs", "handoffs", ["handoff_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "data_exports",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("rights_request_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_exports"),
        sa.ForeignKeyConstraint(
            ["rights_request_id"],
            ["rights_requests.id"],
            name="fk_data_exports_rights_request_id_rights_requests",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_data_exports_rights_request_id", "data_exports", ["rights_request_id"])


def downgrade() -> None:
    op.drop_table("data_exports")
    with op.batch_alter_table("rights_requests") as batch:
        batch.drop_constraint("fk_rights_requests_handoff_id_handoffs", type_="foreignkey")
        batch.drop_constraint("uq_rights_requests_reference", type_="unique")
        batch.drop_column("handoff_id")
        batch.drop_column("rectification_right")
        batch.drop_column("rectification_wrong")
        batch.drop_column("reference")
