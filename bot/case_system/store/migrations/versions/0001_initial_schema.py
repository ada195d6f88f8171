"""Initial case-system schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out in full rather than imported from the models, so that later model changes cannot
change what this revision does. Enums are VARCHAR plus a CHECK constraint on both dialects.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
CHANNELS = ("web", "sms", "voice", "rest", "backoffice")


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "creditors",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("org_number", sa.String(9), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_creditors"),
        sa.UniqueConstraint("org_number", name="uq_creditors_org_number"),
    )
    op.create_table(
        "debtors",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("national_id", sa.String(11), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("language", _enum("language", ("nb", "en")), nullable=False),
        sa.Column("marketing_objection", sa.Boolean(create_constraint=False), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_debtors"),
        sa.UniqueConstraint("national_id", name="uq_debtors_national_id"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_number", sa.String(8), nullable=False),
        sa.Column("debtor_id", sa.Integer, nullable=False),
        sa.Column("creditor_id", sa.Integer, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("invoice_number", sa.String(40), nullable=False),
        sa.Column("invoice_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column(
            "stage", _enum("case_stage", ("inkassovarsel", "betalingsoppfordring", "legal_collection")), nullable=False
        ),
        sa.Column("status", _enum("case_status", ("open", "closed")), nullable=False),
        sa.Column("kid", sa.String(25), nullable=False),
        sa.Column("disputed", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("collection_stopped", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("case_number", name="uq_cases_case_number"),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], name="fk_cases_debtor_id_debtors"),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditors.id"], name="fk_cases_creditor_id_creditors"),
    )
    op.create_index("ix_cases_debtor_id", "cases", ["debtor_id"])
    op.create_index("ix_cases_creditor_id", "cases", ["creditor_id"])

    op.create_table(
        "claim_lines",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("charged_on", sa.Date, nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_lines"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_claim_lines_case_id_cases", ondelete="CASCADE"),
        sa.CheckConstraint(
            "type IN ('collection_fee', 'collection_notice_fee', 'reminder_fee')",
            name="ck_claim_lines_fee_lines_only",
        ),
    )
    op.create_index("ix_claim_lines_case_id", "claim_lines", ["case_id"])

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reference", sa.String(25), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_payments_case_id_cases", ondelete="CASCADE"),
    )
    op.create_index("ix_payments_case_id", "payments", ["case_id"])

    op.create_table(
        "payment_plans",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column(
            "status",
            _enum("payment_plan_status", ("active", "completed", "cancelled", "defaulted")),
            nullable=False,
        ),
        sa.Column("monthly_amount", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("created_via", _enum("payment_plan_channel", CHANNELS), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_payment_plans"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_payment_plans_case_id_cases", ondelete="CASCADE"),
        sa.UniqueConstraint("idempotency_key", name="uq_payment_plans_idempotency_key"),
    )
    op.create_index("ix_payment_plans_case_id", "payment_plans", ["case_id"])

    op.create_table(
        "installments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("status", _enum("installment_status", ("due", "paid", "missed")), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installments"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["payment_plans.id"], name="fk_installments_plan_id_payment_plans", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("plan_id", "sequence", name="uq_installments_plan_sequence"),
    )
    op.create_index("ix_installments_plan_id", "installments", ["plan_id"])

    op.create_table(
        "postponements",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("new_due_date", sa.Date, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("status", _enum("postponement_status", ("granted", "cancelled")), nullable=False),
        sa.Column("created_via", _enum("postponement_channel", CHANNELS), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_postponements"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_postponements_case_id_cases", ondelete="CASCADE"),
        sa.UniqueConstraint("idempotency_key", name="uq_postponements_idempotency_key"),
    )
    op.create_index("ix_postponements_case_id", "postponements", ["case_id"])

    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", _enum("dispute_status", ("open", "upheld", "rejected")), nullable=False),
        sa.Column("created_via", _enum("dispute_channel", CHANNELS), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        _timestamp("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_disputes_case_id_cases", ondelete="CASCADE"),
        sa.UniqueConstraint("idempotency_key", name="uq_disputes_idempotency_key"),
    )
    op.create_index("ix_disputes_case_id", "disputes", ["case_id"])

    op.create_table(
        "rights_requests",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column(
            "type",
            _enum(
                "rights_request_type",
                ("access", "rectification", "erasure", "restriction", "objection", "portability", "human_review"),
            ),
            nullable=False,
        ),
        _timestamp("received_at"),
        _timestamp("due_at"),
        sa.Column(
            "status",
            _enum("rights_request_status", ("received", "in_progress", "completed", "rejected")),
            nullable=False,
        ),
        sa.Column("channel", _enum("rights_request_channel", CHANNELS), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("verified", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("verification_method", sa.String(32), nullable=True),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("debtor_id", sa.Integer, nullable=True),
        sa.Column("request_text", sa.Text, nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rights_requests"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_rights_requests_case_id_cases", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"], ["debtors.id"], name="fk_rights_requests_debtor_id_debtors", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_rights_requests_idempotency_key"),
    )
    op.create_index("ix_rights_requests_case_id", "rights_requests", ["case_id"])
    op.create_index("ix_rights_requests_debtor_id", "rights_requests", ["debtor_id"])

    op.create_table(
        "caseworkers",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_caseworkers"),
        sa.UniqueConstraint("username", name="uq_caseworkers_username"),
    )

    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", _enum("handoff_channel", CHANNELS), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("priority", _enum("handoff_priority", ("normal", "high")), nullable=False),
        sa.Column("status", _enum("handoff_status", ("open", "taken", "closed")), nullable=False),
        sa.Column("case_number", sa.String(8), nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("transcript", sa.JSON, nullable=False),
        sa.Column("taken_by_id", sa.Integer, nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_handoffs"),
        sa.ForeignKeyConstraint(
            ["taken_by_id"], ["caseworkers.id"], name="fk_handoffs_taken_by_id_caseworkers", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_handoffs_conversation_id", "handoffs", ["conversation_id"])
    op.create_index("ix_handoffs_case_number", "handoffs", ["case_number"])
    op.create_index(
        "uq_handoffs_active_conversation",
        "handoffs",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('open', 'taken')"),
        postgresql_where=sa.text("status IN ('open', 'taken')"),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])

    op.create_table(
        "verification_locks",
        sa.Column("case_number", sa.String(8), nullable=False),
        sa.Column("failure_count", sa.Integer, nullable=False),
        _timestamp("locked_until", nullable=True),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("case_number", name="pk_verification_locks"),
    )


def downgrade() -> None:
    for table in (
        "verification_locks",
        "audit_events",
        "handoffs",
        "caseworkers",
        "rights_requests",
        "disputes",
        "postponements",
        "installments",
        "payment_plans",
        "payments",
        "claim_lines",
        "cases",
        "debtors",
        "creditors",
    ):
        op.drop_table(table)
