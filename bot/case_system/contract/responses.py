"""What the case system answers: the response bodies, one model each.

The API serialises its answers through these models, the OpenAPI document describes them from
these models, and the action server's client parses answers into these models. A field that is
`Optional[...] = Field(...)` is always present and may be null; one that is `Optional[...] = None`
is present only when it applies (serialised with `exclude_unset`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, List, Literal, Optional

from pydantic import BaseModel, Field

from bot.case_system.contract.enums import (
    CaseStage,
    CaseStatus,
    Channel,
    Confirmation,
    ConsentChange,
    DisputeStatus,
    FeeBreach,
    HandoffOutcome,
    HandoffPriority,
    HandoffStatus,
    InstallmentStatus,
    Language,
    LineType,
    MessageSender,
    NoticeKind,
    OutboundStatus,
    PayByBasis,
    PaymentPlanStatus,
    PlanProblem,
    PostponementStatus,
    RightsNotice,
    RightsRequestStatus,
    RightsRequestType,
    TranscriptSender,
    VerificationMethod,
)
from bot.case_system.contract.fields import CaseNumber, Money, Percent, timestamp

# OpenAPI 3.0.3 allows null only where a schema with a `type` says `nullable: true`; a nullable
# reference is therefore "the referenced schema, or this schema that takes null and nothing else".
NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}


def _nullable_in_openapi(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Mark the fields that may be null the OpenAPI 3.0 way (pydantic's JSON Schema does not)."""
    for field in model.__fields__.values():
        prop = schema.get("properties", {}).get(field.alias)
        if prop is None or not field.allow_none:
            continue
        if "$ref" in prop:
            prop["anyOf"] = [{"$ref": prop.pop("$ref")}, NULL_ONLY]
        elif "allOf" in prop and len(prop["allOf"]) == 1:
            prop["anyOf"] = [prop.pop("allOf")[0], NULL_ONLY]
        else:
            prop["nullable"] = True


class ResponseModel(BaseModel):
    class Config:
        extra = "ignore"  # a client tolerates fields added later
        json_encoders = {datetime: timestamp}
        schema_extra = staticmethod(_nullable_in_openapi)
        allow_population_by_field_name = True  # `from_` is written `from` on the wire

    def to_json(self) -> str:
        """The wire form: only the fields that apply, timestamps in UTC to the second."""
        return self.json(exclude_unset=True, ensure_ascii=False, by_alias=True)


# --- errors and health ---------------------------------------------------------------------------


class ErrorDetail(ResponseModel):
    code: str = Field(..., example="validation_error")
    message: str
    field: Optional[str] = Field(None, description="The field at fault, when there is one.")

    class Config:
        extra = "allow"  # conflicts carry details such as latest_date


class Error(ResponseModel):
    """Every error: a machine code, an English sentence, and the field at fault (never its value)."""

    error: ErrorDetail


class InterestRateStatus(ResponseModel):
    status: Literal["ok", "provisional"]
    unsourced_periods: List[str] = Field(
        ..., example=["2027-H1"], description="Half-years up to today without a sourced late-payment interest rate."
    )


class OpenApiDocument(ResponseModel):
    """An OpenAPI 3.0 document."""

    __root__: Dict[str, Any]


class Health(ResponseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    interest_rates: InterestRateStatus


# --- verification --------------------------------------------------------------------------------


class DebtorSummary(ResponseModel):
    first_name: str
    language: Language


class VerificationVerified(ResponseModel):
    verified: Literal[True]
    debtor: DebtorSummary
    case_numbers: List[CaseNumber] = Field(..., description="The debtor's open cases.")
    verified_case_number: CaseNumber


class VerificationRefused(ResponseModel):
    """The same answer whether the case is unknown, a factor is wrong or the phone differs."""

    verified: Literal[False]
    outcome: Literal["refused", "locked"]
    locked_until: Optional[datetime] = Field(None, description="Only when outcome is 'locked'.")


# --- cases ---------------------------------------------------------------------------------------


class Creditor(ResponseModel):
    name: str
    org_number: str = Field(..., regex=r"^[0-9]{9}$")


class Invoice(ResponseModel):
    number: str
    date: date
    due_date: date
    amount: Money
    description: str


class ClaimLine(ResponseModel):
    type: LineType
    amount: Money
    description: str
    from_date: Optional[date] = Field(..., description="Fees: the day charged.")
    to_date: Optional[date] = Field(...)
    rate_percent: Optional[Percent] = Field(None, description="Interest lines only.")
    provisional: bool = Field(..., description="Interest at a rate not yet sourced.")
    legal_cap: Optional[Money] = Field(None, description="Fee lines only: the legal cap on the day charged.")
    over_cap: Optional[bool] = Field(None, description="Fee lines only: above the legal cap (flagged for review).")
    rule_breaches: Optional[List[FeeBreach]] = Field(
        None,
        description="Fee lines only: rules on when a fee may be charged that it breaks (its legal_cap is then 0.00).",
    )


class Notice(ResponseModel):
    """A letter sent about the case, with the payment deadline printed in it."""

    kind: NoticeKind
    sent_on: date
    deadline: date = Field(..., description="The deadline as printed in the letter.")


class Payment(ResponseModel):
    paid_on: date
    amount: Money


class Installment(ResponseModel):
    sequence: int
    due_date: date
    amount: Money
    status: InstallmentStatus


class PaymentPlan(ResponseModel):
    id: int
    status: PaymentPlanStatus
    monthly_amount: Money
    fee: Money
    created_via: Channel
    created_at: datetime
    installments: List[Installment]


class PayBy(ResponseModel):
    """What the debtor must pay and by when. In order: the next unpaid installment of an active
    payment plan; a postponement's new due date; the deadline printed in the current stage's letter
    (see `notices`). No date when the case is closed or paid, collection is stopped, the case is in
    legal collection, or no letter of the current stage is on record."""

    date: Optional[date] = Field(..., example="2026-11-30")
    amount: Money = Field(..., description="NOK: the installment for a payment plan, otherwise the balance.")
    basis: PayByBasis
    passed: bool = Field(..., description="The date is before today (Europe/Oslo).")


class Case(ResponseModel):
    """A case with its claim computed today. balance = total_claimed - total_paid (never below
    zero; any excess is overpaid)."""

    case_number: CaseNumber
    status: CaseStatus
    stage: CaseStage
    creditor: Creditor
    invoice: Invoice
    kid: str
    as_of: date = Field(..., description="The day interest is computed to (Europe/Oslo).")
    lines: List[ClaimLine]
    payments: List[Payment]
    total_claimed: Money
    total_paid: Money
    balance: Money
    overpaid: Money
    provisional_interest: bool
    disputed: bool
    collection_stopped: bool
    fees_over_cap: bool = Field(..., description="A fee line is above its legal cap.")
    fee_review_requested: bool = Field(..., description="The case was sent for a fee review.")
    debtor: DebtorSummary
    open_payment_plan: Optional[PaymentPlan] = Field(...)
    notice_sent_on: Optional[date] = Field(
        ..., description="The day the letter of the current stage (inkassovarsel or betalingsoppfordring) was sent."
    )
    pay_by: PayBy
    notices: List[Notice] = Field(
        default_factory=list, description="The letters sent about the case, oldest first, with their printed deadlines."
    )


# --- payment plans, postponements, disputes, fee reviews -----------------------------------------


class QuoteInstallment(ResponseModel):
    sequence: int
    due_date: date
    amount: Money


class PlanQuote(ResponseModel):
    acceptable: bool
    problems: List[PlanProblem]
    balance: Money
    fee: Money
    total: Money = Field(..., description="balance + fee = the sum of the installments.")
    monthly_amount: Money
    months: int
    first_due_date: date
    installments: List[QuoteInstallment]
    estimated_interest: Money = Field(..., description="Interest expected to accrue while the plan runs.")
    interest_rate_percent: Optional[Percent] = Field(...)
    interest_provisional: bool
    alternative: Optional[PlanQuote] = Field(..., description="The nearest acceptable plan, when this one is not.")


PlanQuote.update_forward_refs()


class PlanPolicySummary(ResponseModel):
    min_installment: Money
    max_months: int
    first_due_latest: date
    plan_fee: Money
    max_postponement_days: int


class PlanQuoteAnswer(ResponseModel):
    case_number: CaseNumber
    quote: PlanQuote
    policy: PlanPolicySummary


class PlanCreated(PaymentPlan):
    case_number: CaseNumber
    confirmation: Confirmation


class PaymentPlanList(ResponseModel):
    case_number: CaseNumber
    payment_plans: List[PaymentPlan]


class Postponement(ResponseModel):
    id: int
    case_number: CaseNumber
    new_due_date: date
    fee: Money
    status: PostponementStatus
    created_via: Channel
    created_at: datetime


class Dispute(ResponseModel):
    id: int
    case_number: CaseNumber
    status: DisputeStatus
    reason: str
    created_via: Channel
    received_at: datetime
    disputed: bool
    collection_stopped: bool


class FeeOverCap(ResponseModel):
    type: LineType
    amount: Money
    legal_cap: Optional[Money] = Field(...)
    from_date: Optional[date] = Field(...)
    rule_breaches: List[FeeBreach] = Field(
        default_factory=list, description="Rules on when a fee may be charged that it breaks (legal_cap is then 0.00)."
    )


class FeeReview(ResponseModel):
    case_number: CaseNumber
    fee_review_requested: Literal[True]
    requested_at: datetime
    fees_over_cap: List[FeeOverCap]


# --- handoffs ------------------------------------------------------------------------------------


class TranscriptMessage(ResponseModel):
    sender: TranscriptSender
    text: str
    at: datetime


class Handoff(ResponseModel):
    """Valid national identity numbers in summary and transcript are stored redacted."""

    id: int
    reference: str = Field(..., example="H-7K3QXM", description="The short reference the debtor is given.")
    conversation_id: str
    channel: Channel
    reason: str
    priority: HandoffPriority
    status: HandoffStatus
    case_number: Optional[CaseNumber] = Field(...)
    summary: str
    transcript: List[TranscriptMessage]
    created_at: datetime


class HandoffCreated(Handoff):
    expected_answer_by: datetime = Field(
        ...,
        description="When a caseworker will answer at the latest: within the service level (HANDOFF_SLA_MINUTES) "
        "inside opening hours (CASEWORKER_HOURS, Europe/Oslo, Norwegian public holidays closed), otherwise "
        "the next opening.",
    )


class HandoffList(ResponseModel):
    handoffs: List[Handoff]


class HandoffMessage(ResponseModel):
    """One message of a handed-over conversation since the handoff (identity numbers redacted)."""

    from_: MessageSender = Field(..., alias="from")
    text: str
    at: datetime


class HandoffDetail(Handoff):
    """A handoff with who has it and what was said since it was made, oldest first."""

    taken_by: Optional[str] = Field(..., description="The caseworker's username.")
    taken_at: Optional[datetime] = Field(...)
    resolved_at: Optional[datetime] = Field(...)
    returned_at: Optional[datetime] = Field(...)
    outcome: Optional[HandoffOutcome] = Field(...)
    note: Optional[str] = Field(...)
    contact_phone: Optional[str] = Field(..., description="How an unverified debtor asked to be reached (E.164).")
    contact_email: Optional[str] = Field(...)
    messages: List[HandoffMessage]


class DebtorMessageRecorded(ResponseModel):
    handoff_id: int
    message: HandoffMessage


# --- GDPR rights requests ------------------------------------------------------------------------


class RightsRequest(ResponseModel):
    """due_at is the end (Europe/Oslo) of due_date, one calendar month after receipt (GDPR Art.
    12(3)); overdue is true for a received or in-progress request past due_at."""

    id: str = Field(..., example="PV-7K3QXM", description="The short reference the debtor is given.")
    type: RightsRequestType
    received_at: datetime
    due_at: datetime
    due_date: date
    status: RightsRequestStatus
    overdue: bool
    channel: Channel
    conversation_id: Optional[str] = Field(...)
    verified: bool
    verification_method: Optional[VerificationMethod] = Field(...)
    case_number: Optional[CaseNumber] = Field(...)
    handoff_id: Optional[int] = Field(...)
    has_export: bool
    extended_months: Optional[int] = Field(None, description="GDPR Art. 12(3): 1 or 2; due_date includes it.")
    extension_notice: Optional[RightsNotice] = Field(
        None, description="What became of the notice of the extension: queued, suppressed or no_channel."
    )
    refusal_notice: Optional[RightsNotice] = Field(
        None, description="What became of the notice of the refusal: queued, suppressed or no_channel."
    )


class RightsEffects(ResponseModel):
    """What took effect at once (only what did)."""

    marketing_objection: Optional[bool] = None
    handoff_id: Optional[int] = None
    export_id: Optional[int] = None


class RightsRequestCreated(RightsRequest):
    effects: RightsEffects


class ExportSummary(ResponseModel):
    id: int
    created_at: datetime


class RightsRequestDetail(RightsRequest):
    extension_reason: Optional[str] = None
    refusal_reason: Optional[str] = None
    request_text: Optional[str] = Field(...)
    rectification_wrong: Optional[str] = Field(...)
    rectification_right: Optional[str] = Field(...)
    exports: List[ExportSummary]


class RightsRequestList(ResponseModel):
    rights_requests: List[RightsRequest]


class DataExportDocument(ResponseModel):
    """Everything the case system holds about the debtor (format_version 1), for a caseworker to
    review and send."""

    __root__: Dict[str, Any]


# --- SMS channel support -------------------------------------------------------------------------


class InboundSmsResult(ResponseModel):
    """What the SMS channel should do with the message."""

    duplicate: bool = Field(..., description="This message id was processed before.")
    consent: Optional[ConsentChange] = Field(...)
    opted_out: bool


class PaymentRegistered(ResponseModel):
    """A registered payment; receipt says what became of the debtor's SMS receipt (queued,
    suppressed, duplicate, or null when no number is on file)."""

    id: int
    case_number: CaseNumber
    paid_on: date
    amount: Money
    balance: Money
    receipt: Optional[str] = Field(...)


class OutboundMessageState(ResponseModel):
    id: int
    status: OutboundStatus
