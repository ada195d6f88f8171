"""What callers send: request bodies and query strings, validated by the same models that the
OpenAPI document describes.

`parse` turns the first broken rule into today's error body (`invalid_field` 400 for a value of
the wrong JSON type, `validation_error` 422 for a missing field or a broken rule), naming the field
(`transcript[2].at`) and never the value. Fields are checked in the order they are declared, so
that order is the order in which problems are reported. A JSON null is the same as an absent field.
Identity factors are only shaped here; whether they are well formed is the domain's (and audited).
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Mapping, Optional, Type, TypeVar

from pydantic import BaseModel, Field, ValidationError, root_validator, validator
from pydantic.error_wrappers import ErrorWrapper
from pydantic.errors import MissingError

from bot.case_system.contract import errors
from bot.case_system.contract.enums import (
    DEBTOR_CHANNELS,
    Channel,
    ExportFormat,
    HandoffOutcome,
    HandoffPriority,
    HandoffStatus,
    Language,
    ProviderStatus,
    RightsRequestStatus,
    RightsRequestType,
    TranscriptSender,
)
from bot.case_system.contract.fields import (
    CASE_NUMBER_AS_TYPED,
    NOT_BLANK,
    PROVIDER_ID,
    SMS_PURPOSE,
    Acceptance,
    Amount,
    AwareTimestamp,
    CaseNumberInput,
    ConversationId,
    HandoffReason,
    IsoDate,
    Problem,
    Text,
    Username,
    bounded_text,
    message_text,
    one_of,
    whole_number,
    wrong_type,
)
from bot.contact_details import MAX_EMAIL_CHARACTERS, normalise_contact_phone, normalise_email
from bot.phone_numbers import normalise_phone

MAX_SUMMARY_CHARS = 4000
MAX_TRANSCRIPT_MESSAGES = 500
MAX_MESSAGE_CHARS = 4000
MAX_RIGHTS_TEXT_CHARS = 4000
MAX_DISPUTE_REASON_CHARS = 2000
MAX_SMS_CHARACTERS = 1600  # the most Twilio accepts in one message body (it splits into segments)
MAX_PLAN_MONTHS = 600  # fifty years, as the domain's MAX_MONTHS_ASKED: anything above is not a proposal

DebtorChannel = one_of(DEBTOR_CHANNELS)

Model = TypeVar("Model", bound="RequestModel")


class RequestModel(BaseModel):
    """A request body or query string. Unknown keys are ignored; null means absent."""

    EXPECTED: ClassVar[str] = "an object"  # completes "must be ..." when a nested object is not one

    class Config:
        extra = "ignore"

        @staticmethod
        def schema_extra(schema: dict[str, Any], model: Type["RequestModel"]) -> None:
            # The document says what `_null_is_absent` does: an optional field may be null.
            required = set(schema.get("required", ()))
            for name, prop in schema.get("properties", {}).items():
                if name not in required:
                    if "$ref" in prop:
                        prop["allOf"] = [{"$ref": prop.pop("$ref")}]
                    if "enum" in prop and None not in prop["enum"]:
                        prop["enum"] = [*prop["enum"], None]  # OpenAPI 3.0.3: an enum lists null to allow it
                    prop["nullable"] = True

    @root_validator(pre=True)
    def _null_is_absent(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def validate(cls: Type[Model], value: Any) -> Model:
        # pydantic would turn a list of pairs into an object; the contract does not.
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise wrong_type(cls.EXPECTED)
        return cls(**value)


def parse(model: Type[Model], data: Mapping[str, Any]) -> Model:
    """`data` as a `model`, or the `ApiError` of its first broken rule."""
    try:
        return model.parse_obj(dict(data))
    except ValidationError as invalid:
        raise first_problem(model, invalid) from None


def first_problem(model: Type[BaseModel], invalid: ValidationError) -> errors.ApiError:
    loc, exc = next(_flatten(invalid.raw_errors, ()))
    if isinstance(exc, Problem):
        problem = exc
    elif isinstance(exc, MissingError):
        problem = getattr(_field_type(model, loc), "MISSING", None) or Problem("is required")
    else:  # a pydantic check the contract did not spell out
        problem = Problem("is not valid")
    field = problem.field or _field_name(loc)
    if problem.status == 400:
        return errors.ApiError(400, "invalid_field", f"The field '{field}' {problem.problem}.", field=field)
    return errors.validation_error(field, problem.problem)


def _flatten(raw_errors: Any, loc: tuple):
    for error in raw_errors:
        if isinstance(error, ErrorWrapper):
            here = loc + error.loc_tuple()
            if isinstance(error.exc, ValidationError):
                yield from _flatten(error.exc.raw_errors, here)
            else:
                yield here, error.exc
        else:
            yield from _flatten(error, loc)


def _field_name(loc: tuple) -> str:
    """`("transcript", 2, "at")` -> `transcript[2].at`."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part != "__root__":
            name += f".{part}" if name else part
    return name


def _field_type(model: Type[BaseModel], loc: tuple) -> Any:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "__fields__", {}).get(part)
        if field is None:
            return None
        current = field.type_
    return current


# --- identity verification -----------------------------------------------------------------------


class VerificationRequest(RequestModel):
    """Exactly one of birth_date and national_id. On the sms channel the sender number is an extra
    factor and required. The factors are checked after the structure; a malformed one is answered
    422, audited as `rejected_input` and not counted."""

    case_number: Text = Field(
        ...,
        description="6 to 8 digits as typed; spaces, dots and dashes are ignored.",
        example="100001",
        pattern=CASE_NUMBER_AS_TYPED,
    )
    channel: DebtorChannel
    conversation_id: ConversationId
    birth_date: Optional[Text] = Field(None, format="date", description="YYYY-MM-DD, not in the future.")
    national_id: Optional[Text] = Field(None, description="11 digits, mod-11 checked.")
    phone: Optional[Text] = Field(None, example="+4791234567", description="The SMS sender, E.164.")

    class Config:
        @staticmethod
        def schema_extra(schema: dict[str, Any], model: Type["RequestModel"]) -> None:
            RequestModel.__config__.schema_extra(schema, model)
            schema["oneOf"] = [  # a string in exactly one of them (null is absent)
                {"required": [name], "properties": {name: {"type": "string"}}} for name in ("birth_date", "national_id")
            ]
            schema["anyOf"] = [  # the sender's number on the sms channel
                {"properties": {"channel": {"not": {"enum": [Channel.SMS.value]}}}},
                {"required": ["phone"], "properties": {"phone": {"type": "string"}}},
            ]

    @root_validator(skip_on_failure=True)
    def _one_factor_and_the_sender_on_sms(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("birth_date") is None and values.get("national_id") is None:
            raise Problem("is required when 'national_id' is not given", field="birth_date")
        if values.get("birth_date") is not None and values.get("national_id") is not None:
            raise Problem("must not be given together with 'birth_date'", field="national_id")
        if values["channel"] is not Channel.SMS:
            values["phone"] = None  # the sender number is a factor on SMS only
        elif values.get("phone") is None:
            raise Problem("is required on the sms channel", field="phone")
        else:
            try:
                values["phone"] = normalise_phone(values["phone"])
            except ValueError:
                raise Problem("must be a phone number in E.164 form", field="phone") from None
        return values


# --- handoffs ------------------------------------------------------------------------------------


class ContactPhone(bounded_text(32)):  # type: ignore[misc]
    SCHEMA = {"maxLength": 32, "example": "+4791234567", "description": "A valid phone number; stored in E.164."}

    @classmethod
    def check(cls, value: str) -> str:
        try:
            return normalise_contact_phone(value)
        except ValueError:
            raise Problem("must be a valid phone number") from None


class ContactEmail(bounded_text(MAX_EMAIL_CHARACTERS)):  # type: ignore[misc]
    SCHEMA = {"maxLength": MAX_EMAIL_CHARACTERS, "example": "kari@example.no"}

    @classmethod
    def check(cls, value: str) -> str:
        try:
            return normalise_email(value)
        except ValueError:
            raise Problem("must be an e-mail address") from None


class TranscriptEntry(RequestModel):
    """One message of the conversation so far, for the caseworker."""

    EXPECTED = "an object with 'sender', 'text' and 'at'"

    sender: one_of(TranscriptSender)  # type: ignore[valid-type]
    text: bounded_text(MAX_MESSAGE_CHARS)  # type: ignore[valid-type]
    at: AwareTimestamp


def _transcript(value: Any) -> Any:
    if not isinstance(value, list):
        raise wrong_type("a list of messages")
    if len(value) > MAX_TRANSCRIPT_MESSAGES:
        raise Problem(f"must have at most {MAX_TRANSCRIPT_MESSAGES} messages")
    return value


class HandoffRequest(RequestModel):
    """Valid national identity numbers in summary and transcript are stored redacted."""

    conversation_id: ConversationId
    channel: DebtorChannel
    reason: HandoffReason
    priority: one_of(HandoffPriority) = HandoffPriority.NORMAL  # type: ignore[valid-type]
    case_number: Optional[CaseNumberInput] = None
    summary: bounded_text(MAX_SUMMARY_CHARS) = ""  # type: ignore[valid-type]
    transcript: List[TranscriptEntry] = Field(default_factory=list, max_items=MAX_TRANSCRIPT_MESSAGES)
    # How an unverified debtor asked to be reached; stored with the handoff, never logged.
    contact_phone: Optional[ContactPhone] = None
    contact_email: Optional[ContactEmail] = None

    _transcript_shape = validator("transcript", pre=True, allow_reuse=True)(_transcript)


class HandoffFilters(RequestModel):
    status: Optional[one_of(HandoffStatus)] = None  # type: ignore[valid-type]


MAX_CASEWORKER_MESSAGE_CHARS = 1600  # one SMS body at most, so a reply is never cut on SMS
MAX_NOTE_CHARS = 4000


class CaseworkerMessage(RequestModel):
    """What a caseworker writes to the debtor; on SMS it is made GSM-7 safe before it is sent."""

    text: message_text(MAX_CASEWORKER_MESSAGE_CHARS)  # type: ignore[valid-type]


class DebtorMessage(RequestModel):
    """A debtor's message that arrived while a caseworker has the conversation (from the dialogue
    server). Identity numbers are redacted before it is stored."""

    text: message_text(MAX_MESSAGE_CHARS)  # type: ignore[valid-type]
    at: AwareTimestamp


class HandoffResolution(RequestModel):
    outcome: one_of(HandoffOutcome)  # type: ignore[valid-type]
    note: bounded_text(MAX_NOTE_CHARS, description="For colleagues; identity numbers are redacted.") = ""  # type: ignore[valid-type]


class HandoffReassignment(RequestModel):
    to: Optional[Username] = Field(None, description="Who gets it; the supervisor asking when left out.")


# --- payment plans, postponements, disputes, fee reviews ---------------------------------------


class PlanProposal(RequestModel):
    """Any part may be left out: the quote fills it in from the creditor's policy."""

    monthly_amount: Optional[Amount] = None
    months: Optional[whole_number(1, MAX_PLAN_MONTHS)] = None  # type: ignore[valid-type]
    first_due_date: Optional[IsoDate] = Field(None, description="Not in the past, within a year; moved to a bank day.")


class PlanCreateRequest(PlanProposal):
    channel: DebtorChannel
    conversation_id: ConversationId
    accepted: Acceptance
    language: Optional[one_of(Language)] = Field(  # type: ignore[valid-type]
        None, description="Language of the SMS confirmation (default: the debtor's)."
    )


class PostponementRequest(RequestModel):
    new_due_date: IsoDate
    channel: DebtorChannel
    conversation_id: ConversationId


class DisputeRequest(RequestModel):
    channel: DebtorChannel
    conversation_id: ConversationId
    reason: bounded_text(MAX_DISPUTE_REASON_CHARS, description="The debtor's own words.") = ""  # type: ignore[valid-type]


class FeeReviewRequest(RequestModel):
    channel: DebtorChannel
    conversation_id: ConversationId


# --- GDPR rights requests ------------------------------------------------------------------------


class DebtorWords(Text):
    """Free text in the debtor's words: blank is absent, surrounding space is dropped."""

    SCHEMA = {"maxLength": MAX_RIGHTS_TEXT_CHARS}

    @classmethod
    def check(cls, value: str) -> Optional[str]:
        if len(value) > MAX_RIGHTS_TEXT_CHARS:
            raise Problem(f"must be at most {MAX_RIGHTS_TEXT_CHARS} characters")
        return value.strip() or None


class IdempotencyKey(Text):
    SCHEMA = {"minLength": 1, "maxLength": 100}

    @classmethod
    def check(cls, value: str) -> str:
        if not 1 <= len(value) <= 100:
            raise Problem("must be 1 to 100 characters")
        return value


class RightsRequestCreate(RequestModel):
    """case_number is accepted only when this conversation verified that case through
    POST /verifications (within 12 hours); otherwise the request is logged as identity not yet
    confirmed by leaving case_number out. Valid national identity numbers in texts are stored
    redacted."""

    type: one_of(RightsRequestType)  # type: ignore[valid-type]
    channel: DebtorChannel
    conversation_id: ConversationId
    case_number: Optional[CaseNumberInput] = None
    rectification_wrong: Optional[DebtorWords] = Field(None, description="Rectification only.")
    rectification_right: Optional[DebtorWords] = Field(None, description="Rectification only.")
    idempotency_key: Optional[IdempotencyKey] = None
    request_text: Optional[DebtorWords] = Field(None, description="The debtor's own words.")
    transcript: List[TranscriptEntry] = Field(default_factory=list, max_items=MAX_TRANSCRIPT_MESSAGES)

    _transcript_shape = validator("transcript", pre=True, allow_reuse=True)(_transcript)

    class Config:
        @staticmethod
        def schema_extra(schema: dict[str, Any], model: Type["RequestModel"]) -> None:
            RequestModel.__config__.schema_extra(schema, model)
            blank = {"pattern": r"^\s*$"}  # blank is absent
            schema["anyOf"] = [  # what was wrong and what is right: for rectification only
                {"properties": {"type": {"enum": [RightsRequestType.RECTIFICATION.value]}}},
                {"properties": {"rectification_wrong": blank, "rectification_right": blank}},
            ]

    @validator("rectification_right", always=True)
    def _rectification_only(cls, right: Optional[str], values: dict[str, Any]) -> Optional[str]:
        wrong = values.get("rectification_wrong")
        if (wrong or right) and values.get("type") is not RightsRequestType.RECTIFICATION:
            raise Problem(
                "is only for rectification requests", field="rectification_wrong" if wrong else "rectification_right"
            )
        return right


MAX_DECISION_REASON_CHARS = 500  # it is sent to the debtor by SMS with the template around it


class DecisionReason(Text):
    """Why a request is extended or refused, as the debtor will read it: required, not blank."""

    SCHEMA = {"minLength": 1, "maxLength": MAX_DECISION_REASON_CHARS, "pattern": NOT_BLANK}

    @classmethod
    def check(cls, value: str) -> str:
        if not value.strip():
            raise Problem("must not be blank")
        if len(value) > MAX_DECISION_REASON_CHARS:
            raise Problem(f"must be at most {MAX_DECISION_REASON_CHARS} characters")
        return value.strip()


class RightsRequestExtension(RequestModel):
    """GDPR Art. 12(3): by one or two further months, within the first month after receipt."""

    months: whole_number(1, 2)  # type: ignore[valid-type]
    reason: DecisionReason = Field(..., description="Told to the debtor.")


class RightsRequestRefusal(RequestModel):
    """GDPR Art. 12(4): the debtor is told this reason and of the right to complain to Datatilsynet."""

    reason: DecisionReason = Field(..., description="Told to the debtor.")


class PaymentRegistration(RequestModel):
    """A payment received for a case (from the bank or the creditor); the debtor gets a receipt."""

    paid_on: IsoDate
    amount: Amount
    reference: Optional[bounded_text(25, description="The KID paid with, when known.")] = None  # type: ignore[valid-type]
    idempotency_key: Optional[IdempotencyKey] = None


class TrueOrFalse(Text):
    SCHEMA = {"enum": ["true", "false"]}

    @classmethod
    def check(cls, value: str) -> bool:
        if value not in ("true", "false"):
            raise Problem("must be true or false")
        return value == "true"


class RightsRequestFilters(RequestModel):
    status: Optional[one_of(RightsRequestStatus)] = None  # type: ignore[valid-type]
    case_number: Optional[CaseNumberInput] = None
    overdue: Optional[TrueOrFalse] = None


class ExportFormatChoice(Text):
    SCHEMA = {"enum": [form.value for form in ExportFormat]}

    @classmethod
    def check(cls, value: str) -> ExportFormat:
        if value not in ExportFormat._value2member_map_:
            raise Problem("must be json or document")
        return ExportFormat(value)


class ExportQuery(RequestModel):
    format: ExportFormatChoice = Field(ExportFormat.JSON, description="json, or a readable text document.")


# --- SMS channel support -------------------------------------------------------------------------


def sms_text(max_length: int, *, allow_empty: bool = False) -> Type[Text]:
    """A string the SMS channel passes on from the provider; absent is the wrong type here."""

    class SmsText(Text):
        MISSING = wrong_type("a string")
        SCHEMA = {"maxLength": max_length, **({} if allow_empty else {"minLength": 1})}

        @classmethod
        def check(cls, value: str) -> Any:
            if (not value and not allow_empty) or len(value) > max_length:
                raise Problem(f"must be 1 to {max_length} characters")
            return cls.rule(value)

        @classmethod
        def rule(cls, value: str) -> Any:
            return value

    return SmsText


def optional_sms_text(max_length: int) -> Type[Text]:
    """An optional provider string: empty is absent; anything else must be a short string."""

    class OptionalSmsText(Text):
        EXPECTED = f"a string of at most {max_length} characters"
        SCHEMA = {"maxLength": max_length}

        @classmethod
        def check(cls, value: str) -> Optional[str]:
            if len(value) > max_length:
                raise wrong_type(cls.EXPECTED)
            return value or None

    return OptionalSmsText


class ProviderId(sms_text(34)):  # type: ignore[misc]
    SCHEMA = {"pattern": f"^{PROVIDER_ID.pattern}$", "example": "SM" + "0" * 32}

    @classmethod
    def rule(cls, value: str) -> str:
        if not PROVIDER_ID.fullmatch(value):
            raise Problem("must be a provider message id (two letters and 32 hex digits)")
        return value


class Phone(sms_text(32)):  # type: ignore[misc]
    SCHEMA = {"example": "+4791234567", "description": "E.164 (a Norwegian number may omit +47)"}

    @classmethod
    def rule(cls, value: str) -> str:
        try:
            return normalise_phone(value)
        except ValueError:
            raise Problem("must be a phone number in E.164 form") from None


class SmsPurpose(sms_text(64)):  # type: ignore[misc]
    SCHEMA = {"pattern": f"^{SMS_PURPOSE.pattern}$", "example": "conversation_reply"}

    @classmethod
    def rule(cls, value: str) -> str:
        if not SMS_PURPOSE.fullmatch(value):
            raise Problem("must be lowercase letters and underscores")
        return value


class ProviderStatusName(sms_text(16)):  # type: ignore[misc]
    SCHEMA = {"enum": [status.value for status in ProviderStatus]}

    @classmethod
    def rule(cls, value: str) -> ProviderStatus:
        if value not in ProviderStatus._value2member_map_:
            raise Problem("must be one of " + ", ".join(status.value for status in ProviderStatus))
        return ProviderStatus(value)


class InboundSmsRequest(RequestModel):
    message_sid: ProviderId
    from_phone: Phone
    body: sms_text(MAX_SMS_CHARACTERS, allow_empty=True) = Field(  # type: ignore[valid-type]
        "", description="Empty for a picture-only message."
    )
    opt_out_type: Optional[optional_sms_text(16)] = Field(None, description="Twilio's OptOutType.")  # type: ignore[valid-type]


class OutboxRequest(RequestModel):
    to_phone: Phone
    body: sms_text(MAX_SMS_CHARACTERS)  # type: ignore[valid-type]
    purpose: SmsPurpose


class DeliveryStatusRequest(RequestModel):
    provider_id: ProviderId
    status: ProviderStatusName
    error_code: Optional[optional_sms_text(32)] = Field(None, example="30003")  # type: ignore[valid-type]
