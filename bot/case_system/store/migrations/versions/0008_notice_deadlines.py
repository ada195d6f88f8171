"""Notices: each letter sent about a case, with the payment deadline printed in it.

Revision ID: 0008_notice_deadlines
Revises: 0007_caseworker_console
Create Date: 2026-12-06

"The deadline in our letter was ..." must quote what the letter said, and the fee rules
(inkassoforskriften §§ 1-2 and 1-3, inkassoloven § 17) depend on which letters were sent when and
with which deadline. Cases that existed before this revision get no notices: their deadline is
not known, so the assistant states none until a caseworker enters the letters (a deadline
computed from `cases.notice_sent_on` could differ from the printed one, so none is made up).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_notice_deadlines"
down_revision = "0007_caseworker_console"
branch_labels = None
depends_on = None

KINDS = ("reminder", "collection_notice", "payment_demand")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="notice_kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("sent_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_notices_case_id_cases", ondelete="CASCADE"),
    )
    op.create_index("ix_notices_case_id", "notices", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_notices_case_id", table_name="notices")
    op.drop_table("notices")
