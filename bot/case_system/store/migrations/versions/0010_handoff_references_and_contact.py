"""Short handoff references and contact details given by unverified debtors.

Revision ID: 0010_handoff_references_and_contact
Revises: 0009_rights_extensions_and_contact_window
Create Date: 2026-12-06

- handoffs.reference: the short reference the debtor is given (`H-7K3QXM`), random and unique;
  existing handoffs get one here. The API keeps the numeric id in its URLs.
- handoffs.contact_phone / contact_email: how an unverified debtor asked to be reached (E.164, or
  an e-mail address), so that a caseworker can follow the handoff up.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010_handoff_references_and_contact"
down_revision = "0009_rights_extensions_and_contact_window"
branch_labels = None
depends_on = None

# As bot/case_system/domain/handoffs.py (a migration keeps its own copy: it must not change later).
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference(taken: set[str]) -> str:
    while True:
        reference = "H-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if reference not in taken:
            taken.add(reference)
            return reference


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("reference", sa.String(12), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(20), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(254), nullable=True))
    connection = op.get_bind()
    handoffs = sa.table("handoffs", sa.column("id", sa.Integer), sa.column("reference", sa.String))
    taken: set[str] = set()
    for (handoff_id,) in connection.execute(sa.select(handoffs.c.id)).fetchall():
        connection.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(reference=_reference(taken)))
    with op.batch_alter_table("handoffs") as batch:
        batch.alter_column("reference", existing_type=sa.String(12), nullable=False)
        batch.create_unique_constraint("uq_handoffs_reference", ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_constraint("uq_handoffs_reference", type_="unique")
        batch.drop_column("contact_email")
        batch.drop_column("contact_phone")
        batch.drop_column("reference")
