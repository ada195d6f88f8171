"""The case system's tables, declared once (SQLAlchemy 1.4 declarative).

Money is `Numeric(12, 2)` and comes back as `Decimal`; timestamps are timezone-aware UTC on both
SQLite and PostgreSQL (see `UTCDateTime`). Interest is never stored: it is computed when a case
is read (`domain.claims.claim_statement`), so `claim_lines` holds fee lines only. The enums the
columns store are the API contract's (`bot.case_system.contract.enums`).

The migrations in `migrations/versions/` create exactly this schema; a test compares the two.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, relationship

from bot.case_system.contract.enums import (
    FEE_TYPES,
    CaseStage,
    CaseStatus,
    CaseworkerRole,
    Channel,
    DisputeStatus,
    HandoffOutcome,
    HandoffPriority,
    HandoffStatus,
    InstallmentStatus,
    Language,
    LineType,
    MessageSender,
    NoticeKind,
    OutboundStatus,
    PaymentPlanStatus,
    PostponementStatus,
    RightsRequestStatus,
    RightsRequestType,
)
from bot.short_references import handoff_reference

# Constraint names are fixed so migrations can address them on both dialects (SQLite batch mode
# recreates tables and needs named constraints to do so).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))

CENT = Decimal("0.01")

# Fee lines are the only claim lines stored; principal and interest are derived.
FEE_LINE_TYPES = tuple(sorted(FEE_TYPES, key=lambda line_type: line_type.value))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware UTC datetime on every dialect.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are stored as naive UTC
    (fixed-width text, which also compares correctly in SQL) and made aware again when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(sa.types.TypeDecorator):
    """NOK as `Numeric(12, 2)`, always read back as a `Decimal` with two decimals.

    SQLite has no decimal type and keeps these as floating point; at two decimals and at most 12
    digits a double holds every value exactly enough that rounding to øre restores it, so the
    conversion is done here, explicitly, instead of by SQLAlchemy with a warning.
    """

    impl = sa.Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(12, 2))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return float(value)

    def process_result_value(self, value, dialect) -> Optional[Decimal]:
        if value is None:
            return None
        # repr of a float is the shortest decimal that reads back as the same float.
        return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(CENT)


def enum_type(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing the values."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Creditor(Base):
    __tablename__ = "creditors"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    org_number = sa.Column(sa.String(9), nullable=False, unique=True)  # organisasjonsnummer
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


class Debtor(Base):
    __tablename__ = "debtors"

    id = sa.Column(sa.Integer, primary_key=True)
    national_id = sa.Column(sa.String(11), nullable=False, unique=True)  # fødselsnummer/D-nummer
    first_name = sa.Column(sa.String(100), nullable=False)
    last_name = sa.Column(sa.String(100), nullable=False)
    birth_date = sa.Column(sa.Date, nullable=False)
    phone = sa.Column(sa.String(20))  # E.164
    language = sa.Column(enum_type(Language, "language"), nullable=False, default=Language.NB)
    marketing_objection = sa.Column(sa.Boolean, nullable=False, default=False)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    cases = relationship("Case", back_populates="debtor")


class Case(Base):
    __tablename__ = "cases"

    id = sa.Column(sa.Integer, primary_key=True)
    case_number = sa.Column(sa.String(8), nullable=False, unique=True)
    debtor_id = sa.Column(sa.ForeignKey("debtors.id"), nullable=False, index=True)
    creditor_id = sa.Column(sa.ForeignKey("creditors.id"), nullable=False, index=True)
    description = sa.Column(sa.String(200), nullable=False, default="")  # what the invoice was for
    invoice_number = sa.Column(sa.String(40), nullable=False)
    invoice_date = sa.Column(sa.Date, nullable=False)
    due_date = sa.Column(sa.Date, nullable=False)
    principal = sa.Column(Money(), nullable=False)  # hovedstol
    stage = sa.Column(enum_type(CaseStage, "case_stage"), nullable=False)
    status = sa.Column(enum_type(CaseStatus, "case_status"), nullable=False, default=CaseStatus.OPEN)
    kid = sa.Column(sa.String(25), nullable=False)
    disputed = sa.Column(sa.Boolean, nullable=False, default=False)
    collection_stopped = sa.Column(sa.Boolean, nullable=False, default=False)
    closed_on = sa.Column(sa.Date)  # interest stops accruing when a case is closed
    # The day the letter of the current stage (inkassovarsel or betalingsoppfordring) was sent;
    # its payment deadline is counted from it (payment_deadline.py).
    notice_sent_on = sa.Column(sa.Date)
    # Set when a fee above its legal cap was found and sent to a caseworker (fees.check_fee).
    fee_review_requested_at = sa.Column(UTCDateTime())
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    debtor = relationship("Debtor", back_populates="cases")
    creditor = relationship("Creditor")
    claim_lines = relationship(
        "ClaimLineRecord", back_populates="case", order_by="(ClaimLineRecord.charged_on, ClaimLineRecord.id)"
    )
    payments = relationship(
        "PaymentRecord", back_populates="case", order_by="(PaymentRecord.paid_on, PaymentRecord.id)"
    )
    payment_plans = relationship("PaymentPlan", back_populates="case", order_by="PaymentPlan.id")
    postponements = relationship("Postponement", back_populates="case", order_by="Postponement.id")
    disputes = relationship("Dispute", back_populates="case", order_by="Dispute.id", lazy="selectin")
    # Loaded with the case: the fee rules and the deadline the assistant quotes read them (0008).
    notices = relationship("Notice", back_populates="case", order_by="(Notice.sent_on, Notice.id)", lazy="selectin")


class ClaimLineRecord(Base):
    """A fee charged on a case (purregebyr, inkassovarsel fee, inkassosalær)."""

    __tablename__ = "claim_lines"
    __table_args__ = (
        sa.CheckConstraint(
            "type IN ({})".format(", ".join(f"'{line_type.value}'" for line_type in FEE_LINE_TYPES)),
            name="fee_lines_only",
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    type = sa.Column(sa.String(32), nullable=False)  # a fee value of claims.LineType
    amount = sa.Column(Money(), nullable=False)
    description = sa.Column(sa.String(200), nullable=False, default="")
    charged_on = sa.Column(sa.Date, nullable=False)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    case = relationship("Case", back_populates="claim_lines")

    @property
    def line_type(self) -> LineType:
        return LineType(self.type)


class Notice(Base):
    """A letter sent to the debtor about a case (purring, inkassovarsel, betalingsoppfordring) with
    the payment deadline printed in it; the assistant quotes that date, never one computed (0008)."""

    __tablename__ = "notices"

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = sa.Column(enum_type(NoticeKind, "notice_kind"), nullable=False)
    sent_on = sa.Column(sa.Date, nullable=False)
    deadline = sa.Column(sa.Date, nullable=False)  # as printed in the letter
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    case = relationship("Case", back_populates="notices")


class PaymentRecord(Base):
    __tablename__ = "payments"

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    paid_on = sa.Column(sa.Date, nullable=False)
    amount = sa.Column(Money(), nullable=False)
    reference = sa.Column(sa.String(25))  # the KID paid with, when known
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    idempotency_key = sa.Column(sa.String(100), unique=True)  # the same payment registered again (0009)

    case = relationship("Case", back_populates="payments")


class PaymentPlan(Base):
    """A voluntary payment plan (nedbetalingsavtale)."""

    __tablename__ = "payment_plans"
    __table_args__ = (
        # At most one active plan per case, even when two acceptances race.
        sa.Index(
            "uq_payment_plans_active_case",
            "case_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    status = sa.Column(
        enum_type(PaymentPlanStatus, "payment_plan_status"), nullable=False, default=PaymentPlanStatus.ACTIVE
    )
    monthly_amount = sa.Column(Money(), nullable=False)
    fee = sa.Column(Money(), nullable=False)  # etableringsgebyr for the plan
    created_via = sa.Column(enum_type(Channel, "payment_plan_channel"), nullable=False)
    conversation_id = sa.Column(sa.String(200))
    idempotency_key = sa.Column(sa.String(100), unique=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    case = relationship("Case", back_populates="payment_plans")
    installments = relationship(
        "Installment", back_populates="plan", order_by="Installment.sequence", cascade="all, delete-orphan"
    )


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (sa.UniqueConstraint("plan_id", "sequence", name="uq_installments_plan_sequence"),)

    id = sa.Column(sa.Integer, primary_key=True)
    plan_id = sa.Column(sa.ForeignKey("payment_plans.id", ondelete="CASCADE"), nullable=False, index=True)
    sequence = sa.Column(sa.Integer, nullable=False)
    due_date = sa.Column(sa.Date, nullable=False)
    amount = sa.Column(Money(), nullable=False)
    status = sa.Column(
        enum_type(InstallmentStatus, "installment_status"), nullable=False, default=InstallmentStatus.DUE
    )

    plan = relationship("PaymentPlan", back_populates="installments")


class Postponement(Base):
    """A granted postponement of the payment deadline (betalingsutsettelse)."""

    __tablename__ = "postponements"

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    new_due_date = sa.Column(sa.Date, nullable=False)
    fee = sa.Column(Money(), nullable=False, default=Decimal("0.00"))
    status = sa.Column(
        enum_type(PostponementStatus, "postponement_status"), nullable=False, default=PostponementStatus.GRANTED
    )
    created_via = sa.Column(enum_type(Channel, "postponement_channel"), nullable=False)
    conversation_id = sa.Column(sa.String(200))
    idempotency_key = sa.Column(sa.String(100), unique=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    case = relationship("Case", back_populates="postponements")


class Dispute(Base):
    """An objection to the claim (innsigelse); collection stops while it is open."""

    __tablename__ = "disputes"

    id = sa.Column(sa.Integer, primary_key=True)
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    reason = sa.Column(sa.Text, nullable=False, default="")
    status = sa.Column(enum_type(DisputeStatus, "dispute_status"), nullable=False, default=DisputeStatus.OPEN)
    created_via = sa.Column(enum_type(Channel, "dispute_channel"), nullable=False)
    conversation_id = sa.Column(sa.String(200))
    idempotency_key = sa.Column(sa.String(100), unique=True)
    received_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    case = relationship("Case", back_populates="disputes")


class RightsRequest(Base):
    """A GDPR data-subject request; `due_at` is the statutory deadline (one month, art. 12(3))."""

    __tablename__ = "rights_requests"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(12), nullable=False, unique=True)  # the short reference the debtor is given
    type = sa.Column(enum_type(RightsRequestType, "rights_request_type"), nullable=False)
    received_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    due_at = sa.Column(UTCDateTime(), nullable=False)
    status = sa.Column(
        enum_type(RightsRequestStatus, "rights_request_status"), nullable=False, default=RightsRequestStatus.RECEIVED
    )
    channel = sa.Column(enum_type(Channel, "rights_request_channel"), nullable=False)
    conversation_id = sa.Column(sa.String(200))
    verified = sa.Column(sa.Boolean, nullable=False, default=False)
    verification_method = sa.Column(sa.String(32))  # "birth_date" or "national_id"; never the value
    case_id = sa.Column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    debtor_id = sa.Column(sa.ForeignKey("debtors.id", ondelete="SET NULL"), index=True)
    request_text = sa.Column(sa.Text)
    idempotency_key = sa.Column(sa.String(100), unique=True)
    # Rectification (Art. 16): what the debtor says is wrong, and what it should be, in their words.
    rectification_wrong = sa.Column(sa.Text)
    rectification_right = sa.Column(sa.Text)
    handoff_id = sa.Column(sa.ForeignKey("handoffs.id", ondelete="SET NULL"))  # human review (Art. 22(3))
    # Art. 12(3): extended by up to two further months, with the reason the debtor is given (0009).
    extended_months = sa.Column(sa.Integer)
    extension_reason = sa.Column(sa.Text)
    extended_at = sa.Column(UTCDateTime())
    extended_by = sa.Column(sa.String(100))  # the audit actor
    extension_notice = sa.Column(sa.String(16))  # rights_requests.NoticeOutcome
    # Art. 12(4): refused (not acted on), with the reason the debtor is given.
    refusal_reason = sa.Column(sa.Text)
    refused_at = sa.Column(UTCDateTime())
    refusal_notice = sa.Column(sa.String(16))  # rights_requests.NoticeOutcome

    case = relationship("Case")
    debtor = relationship("Debtor")
    handoff = relationship("Handoff")
    exports = relationship("DataExport", back_populates="rights_request", order_by="DataExport.id")


class DataExport(Base):
    """A debtor's data (Art. 15 and 20) attached to a request, for a caseworker to review and send."""

    __tablename__ = "data_exports"

    id = sa.Column(sa.Integer, primary_key=True)
    rights_request_id = sa.Column(sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    created_by = sa.Column(sa.String(100), nullable=False)  # the audit actor that asked for it
    data = sa.Column(sa.JSON, nullable=False)  # machine-readable (portability)
    document = sa.Column(sa.Text, nullable=False)  # the same, readable by a person

    rights_request = relationship("RightsRequest", back_populates="exports")


class Caseworker(Base):
    """A person who answers handed-over conversations in the console (domain/caseworkers.py).

    `active` False is a disabled account: it cannot log in and no integration can act for it.
    `failed_logins` counts wrong passwords since the last success; at the limit the account is
    locked until `locked_until`.
    """

    __tablename__ = "caseworkers"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    name = sa.Column(sa.String(200), nullable=False)
    display_name = sa.Column(sa.String(100))  # what the debtor sees; the first name when empty
    role = sa.Column(enum_type(CaseworkerRole, "caseworker_role"), nullable=False, default=CaseworkerRole.CASEWORKER)
    password_hash = sa.Column(sa.String(255))  # argon2id; no password: cannot log in
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(UTCDateTime())
    last_login_at = sa.Column(UTCDateTime())
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name.split()[0]


class Handoff(Base):
    """A conversation handed to a human caseworker."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open or taken handoff per conversation, even under concurrent requests.
        sa.Index(
            "uq_handoffs_active_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'taken')"),
            postgresql_where=sa.text("status IN ('open', 'taken')"),
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    # The short reference the debtor is given (0010); the default serves rows made outside handoffs.py.
    reference = sa.Column(sa.String(12), nullable=False, unique=True, default=handoff_reference)
    conversation_id = sa.Column(sa.String(200), nullable=False, index=True)
    channel = sa.Column(enum_type(Channel, "handoff_channel"), nullable=False)
    reason = sa.Column(sa.String(32), nullable=False)
    priority = sa.Column(enum_type(HandoffPriority, "handoff_priority"), nullable=False, default=HandoffPriority.NORMAL)
    status = sa.Column(enum_type(HandoffStatus, "handoff_status"), nullable=False, default=HandoffStatus.OPEN)
    case_number = sa.Column(sa.String(8), index=True)  # as given; not a foreign key
    summary = sa.Column(sa.Text, nullable=False, default="")
    transcript = sa.Column(sa.JSON, nullable=False, default=list)
    taken_by_id = sa.Column(sa.ForeignKey("caseworkers.id", ondelete="SET NULL"))
    taken_at = sa.Column(UTCDateTime())
    returned_at = sa.Column(UTCDateTime())
    resolved_at = sa.Column(UTCDateTime())
    outcome = sa.Column(enum_type(HandoffOutcome, "handoff_outcome"))
    note = sa.Column(sa.Text)
    # How an unverified debtor asked to be reached (0010); never logged.
    contact_phone = sa.Column(sa.String(20))  # E.164
    contact_email = sa.Column(sa.String(254))
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    taken_by = relationship("Caseworker")
    messages = relationship("HandoffMessageRecord", order_by="HandoffMessageRecord.id", back_populates="handoff")


class HandoffMessageRecord(Base):
    """A message of a handed-over conversation: the debtor's while a caseworker has it, the
    caseworker's replies, and what the assistant said on being handed it back. Redacted text."""

    __tablename__ = "handoff_messages"

    id = sa.Column(sa.Integer, primary_key=True)
    handoff_id = sa.Column(sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    sender = sa.Column(enum_type(MessageSender, "message_sender"), nullable=False)
    caseworker_id = sa.Column(sa.ForeignKey("caseworkers.id", ondelete="SET NULL"))
    text = sa.Column(sa.Text, nullable=False)
    at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)

    handoff = relationship("Handoff", back_populates="messages")


class AuditEvent(Base):
    """Who read or changed what, for which purpose. Never holds the personal data itself."""

    __tablename__ = "audit_events"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor = sa.Column(sa.String(100), nullable=False)
    action = sa.Column(sa.String(64), nullable=False)
    subject_type = sa.Column(sa.String(32), nullable=False)
    subject_id = sa.Column(sa.String(64))  # a case number or record id
    purpose = sa.Column(sa.String(100), nullable=False)
    outcome = sa.Column(sa.String(32), nullable=False)
    channel = sa.Column(sa.String(16))
    conversation_id = sa.Column(sa.String(200), index=True)
    detail = sa.Column(sa.String(64))  # a machine code such as the factor used or the field refused


class VerificationLock(Base):
    """Identity-check attempts per subject: a case number *as typed*, and the debtor it belongs to.

    `subject` is `case:<number>` for every attempt, whether or not such a case exists, so a lock (or
    its absence) reveals nothing about which case numbers exist; and `debtor:<id>` when the typed
    number is one of a debtor's cases, so that spreading guesses over a debtor's cases gains nothing.
    `attempt_count` counts the attempts reserved since the last success or expired lock, including
    those still being checked and those refused unchecked while locked (verification.py).
    """

    __tablename__ = "verification_locks"

    subject = sa.Column(sa.String(40), primary_key=True)
    attempt_count = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(UTCDateTime())
    updated_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


MAX_SMS_CHARACTERS = 1600  # the most Twilio accepts in one message body (it splits into segments)


class OutboundMessage(Base):
    """One message to send: the transactional outbox (domain/outbox.py enqueues, the backoffice's
    delivery loop in bot/outbound_sms.py sends). Created by migration 0003_sms."""

    __tablename__ = "outbound_messages"
    __table_args__ = (sa.Index("ix_outbound_messages_status_to_phone", "status", "to_phone", "id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    channel = sa.Column(sa.String(16), nullable=False, default="sms")
    to_phone = sa.Column(sa.String(20), nullable=False)  # E.164
    body = sa.Column(sa.Text, nullable=False)
    purpose = sa.Column(sa.String(64), nullable=False)  # a machine code, e.g. payment_plan_confirmation
    status = sa.Column(enum_type(OutboundStatus, "outbound_status"), nullable=False, default=OutboundStatus.PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    provider_id = sa.Column(sa.String(64), unique=True)  # the provider's message id once sent (Twilio SID)
    error_code = sa.Column(sa.String(32))  # the provider's error code of the last failed attempt
    next_attempt_at = sa.Column(UTCDateTime())
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = sa.Column(UTCDateTime())
    # Started by the agency, not an answer to the debtor: sent only inside the contact window,
    # not before `not_before`; `idempotency_key` keeps one message per installment, payment... (0009)
    agency_initiated = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    not_before = sa.Column(UTCDateTime())
    idempotency_key = sa.Column(sa.String(100), unique=True)


class SmsOptOut(Base):
    """A number that asked not to be texted. The row is removed again when it texts START."""

    __tablename__ = "sms_opt_outs"

    phone = sa.Column(sa.String(20), primary_key=True)  # E.164
    opted_out_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


class SmsConversation(Base):
    """The number an SMS conversation's messages come from (its id is a keyed hash of it), so that
    a caseworker's reply can be sent to it. One row per conversation, the latest number."""

    __tablename__ = "sms_conversations"

    conversation_id = sa.Column(sa.String(200), primary_key=True)
    phone = sa.Column(sa.String(20), nullable=False)  # E.164
    last_inbound_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


class InboundSms(Base):
    """The provider id of every inbound SMS processed (no number, no text): deduplicates retries."""

    __tablename__ = "inbound_sms"

    message_sid = sa.Column(sa.String(64), primary_key=True)
    received_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)
