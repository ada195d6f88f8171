"""Every closed vocabulary of the case system, declared once.

The API contract, the database columns (stored as these values) and the rules all use these
enums; the OpenAPI document lists their values from here. Norwegian terms are named where they
first appear.
"""

from __future__ import annotations

import enum


class Channel(str, enum.Enum):
    """Where a conversation or a record came from."""

    WEB = "web"
    SMS = "sms"
    VOICE = "voice"
    REST = "rest"
    BACKOFFICE = "backoffice"  # entered by a caseworker


# The channels a debtor talks to the assistant on; only these may call the API for a debtor.
DEBTOR_CHANNELS = (Channel.WEB, Channel.SMS, Channel.VOICE, Channel.REST)


class Language(str, enum.Enum):
    NB = "nb"
    EN = "en"


class CaseStage(str, enum.Enum):
    INKASSOVARSEL = "inkassovarsel"  # collection notice
    BETALINGSOPPFORDRING = "betalingsoppfordring"  # demand for payment
    LEGAL_COLLECTION = "legal_collection"  # rettslig inkasso


class CaseStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class LineType(str, enum.Enum):
    """What a claim line is for."""

    PRINCIPAL = "principal"  # hovedstol
    LATE_PAYMENT_INTEREST = "late_payment_interest"  # forsinkelsesrente
    REMINDER_FEE = "reminder_fee"  # purregebyr
    COLLECTION_NOTICE_FEE = "collection_notice_fee"  # inkassovarselgebyr
    COLLECTION_FEE = "collection_fee"  # inkassosalær


FEE_TYPES = frozenset({LineType.REMINDER_FEE, LineType.COLLECTION_NOTICE_FEE, LineType.COLLECTION_FEE})


class NoticeKind(str, enum.Enum):
    """A letter sent to the debtor about a case, each with the payment deadline printed in it."""

    REMINDER = "reminder"  # purring
    COLLECTION_NOTICE = "collection_notice"  # inkassovarsel (inkassoloven § 9)
    PAYMENT_DEMAND = "payment_demand"  # betalingsoppfordring (inkassoloven § 10)


class FeeBreach(str, enum.Enum):
    """Why a fee may not be charged at all, or not at the heavy rate (fee_rules.py); each is handed
    to a caseworker exactly like a fee above its cap."""

    TOO_EARLY = "too_early"  # letter sent less than 14 days after the (moved) due date, § 1-2
    COMBINATION = "combination"  # more letters with fees than § 1-3 allows
    FIRST_REMINDER_DEADLINE = "first_reminder_deadline"  # § 1-3: first reminder's 14 days not overrun
    NO_EXPIRED_COLLECTION_NOTICE = "no_expired_collection_notice"  # inkassoloven §§ 9, 17 fourth para
    PAID_WITHIN_COLLECTION_NOTICE = "paid_within_collection_notice"  # inkassoloven § 17 third para
    OBJECTION_BEFORE_FEE = "objection_before_fee"  # inkassoloven § 17 second para
    HEAVY_FEE_CONDITIONS = "heavy_fee_conditions"  # tungt salær without an overrun payment demand


class PayByBasis(str, enum.Enum):
    """Where a case's date to pay by comes from (payment_deadline.pay_by)."""

    PAYMENT_PLAN = "payment_plan"  # the next unpaid installment
    POSTPONEMENT = "postponement"  # a granted postponement's new due date
    NOTICE = "notice"  # the current stage's letter plus its statutory days
    LEGAL_COLLECTION = "legal_collection"  # a court or the enforcement officer sets dates now
    COLLECTION_STOPPED = "collection_stopped"  # disputed, or stopped by a caseworker
    NONE = "none"  # closed, paid, or no notice date known


class PaymentPlanStatus(str, enum.Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DEFAULTED = "defaulted"


class InstallmentStatus(str, enum.Enum):
    DUE = "due"
    PAID = "paid"
    MISSED = "missed"


class PlanProblem(str, enum.Enum):
    """A limit of the creditor's plan policy that a proposal breaks."""

    INSTALLMENT_BELOW_MINIMUM = "installment_below_minimum"
    TOO_MANY_MONTHS = "too_many_months"
    FIRST_DUE_TOO_LATE = "first_due_too_late"
    COVERS_BALANCE = "covers_balance"


class Confirmation(str, enum.Enum):
    """What happened to a new plan's SMS confirmation."""

    QUEUED = "queued"
    SUPPRESSED = "suppressed"  # the number opted out of SMS
    NO_PHONE = "no_phone"
    ALREADY_SENT = "already_sent"  # the same acceptance again: the plan made the first time


class PostponementStatus(str, enum.Enum):
    GRANTED = "granted"
    CANCELLED = "cancelled"


class DisputeStatus(str, enum.Enum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class RightsRequestType(str, enum.Enum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    PORTABILITY = "portability"
    HUMAN_REVIEW = "human_review"


class RightsRequestStatus(str, enum.Enum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


class RightsNotice(str, enum.Enum):
    """What became of the notice to the debtor about an extension or a refusal of their request."""

    QUEUED = "queued"  # an SMS is in the outbox; it goes out inside the contact window
    SUPPRESSED = "suppressed"  # the number opted out of SMS: recorded, not sent
    NO_CHANNEL = "no_channel"  # nothing reaches the requester (e.g. web chat, identity unknown)


class VerificationMethod(str, enum.Enum):
    """How a debtor's identity was confirmed; never the value used."""

    BIRTH_DATE = "birth_date"
    NATIONAL_ID = "national_id"
    UNKNOWN = "unknown"  # an audit trail older than the method's recording


class HandoffPriority(str, enum.Enum):
    NORMAL = "normal"
    HIGH = "high"


class HandoffStatus(str, enum.Enum):
    OPEN = "open"  # waiting in the caseworkers' queue; the assistant still answers
    TAKEN = "taken"  # a caseworker has the conversation; the assistant is paused
    RETURNED = "returned"  # handed back to the assistant
    RESOLVED = "resolved"  # finished by a caseworker with an outcome
    CLOSED = "closed"  # closed without a caseworker (by retention, or before caseworkers had a console)


# A handoff in one of these states is still waiting for, or with, a caseworker.
ACTIVE_HANDOFF_STATUSES = (HandoffStatus.OPEN, HandoffStatus.TAKEN)


class HandoffOutcome(str, enum.Enum):
    """What a caseworker's conversation came to."""

    PAID = "paid"
    PLAN_AGREED = "plan_agreed"
    DISPUTE_REGISTERED = "dispute_registered"
    RIGHTS_REQUEST = "rights_request"
    OTHER = "other"


class MessageSender(str, enum.Enum):
    """Who wrote a message of a handed-over conversation."""

    DEBTOR = "debtor"
    CASEWORKER = "caseworker"
    ASSISTANT = "assistant"


class CaseworkerRole(str, enum.Enum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"  # may also reassign a handoff another caseworker has taken


class TranscriptSender(str, enum.Enum):
    USER = "user"
    BOT = "bot"


class VerificationOutcome(str, enum.Enum):
    VERIFIED = "verified"
    REFUSED = "refused"
    LOCKED = "locked"
    REJECTED_INPUT = "rejected_input"  # malformed factor: answered 422, not counted


class OutboundStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # deliberately not sent (e.g. the number opted out)


class ConsentChange(str, enum.Enum):
    """What an inbound SMS said about being texted (STOP / START)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class ProviderStatus(str, enum.Enum):
    """Twilio's message statuses, as its delivery reports send them."""

    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    CANCELED = "canceled"


class ExportFormat(str, enum.Enum):
    JSON = "json"
    DOCUMENT = "document"  # plain text for a person to read
