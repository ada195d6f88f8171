"""The value types of the API contract: how each kind of field is read, checked, written and
documented, in one place.

Request types are strict (a number is not a string, a bool is not a number) and say what is wrong
in the words of the error body: a `Problem` with 400 for the wrong JSON type (`invalid_field`) or
422 for a broken rule (`validation_error`), never repeating the value. Response types turn the
domain's values into the wire's: money as a string with two decimals in NOK, dates as ISO 8601,
timestamps in UTC to the second.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Iterable, Optional, Type

from bot.config import money

CASE_NUMBER = re.compile(r"[0-9]{6,8}")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.:@+=/-]{1,200}")
AUDIT_TOKEN = re.compile(r"[A-Za-z0-9_.:@-]{1,100}")  # X-Actor and X-Purpose values
HANDOFF_REASON = re.compile(r"[a-z][a-z0-9_]{0,31}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PROVIDER_ID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}")  # Twilio SIDs: two letters, 32 hex digits
SMS_PURPOSE = re.compile(r"[a-z_]{1,64}")
RIGHTS_REFERENCE = re.compile(r"PV-[0-9A-HJKMNP-TV-Z]{6}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # a caseworker's login name
AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # a minus is let through to be told "more than zero"
MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
_SEPARATORS = re.compile(r"[ .\-\u00a0]")
# What `case_number_as_typed` reads, as a schema pattern: surrounding white space, then 6 to 8
# digits with separators anywhere between, before or after them.
CASE_NUMBER_AS_TYPED = r"^\s*[ .\-\u00a0]*(?:[0-9][ .\-\u00a0]*){6,8}\s*$"
# What `Amount` accepts as a string: more than 0, at most MAX_AMOUNT, at most two decimals that
# are not zero (trailing zeros are the same amount), white space around it ignored.
AMOUNT_AS_TYPED = r"^\s*(?=[0-9.]*[1-9])0*(?:[0-9]{1,7}(?:\.[0-9]{1,2}0*)?|10000000(?:\.0+)?)\s*$"
# RFC 3339 date-time, the JSON Schema `date-time` format: any fraction of a second, Z or an offset.
RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:([Zz])|([+-][0-9]{2}):([0-9]{2}))"
)

CONVERSATION_ID_RULE = "1 to 200 letters, digits or the characters _ . : @ + = / -"
AUDIT_TOKEN_RULE = "1 to 100 letters, digits or the characters _ . : @ -"
MAX_AMOUNT = Decimal("10000000")  # above any claim this system holds: a typo, not a proposal
CENT = Decimal("0.01")


class Problem(ValueError):
    """What is wrong with one field, as the error body says it: "The field 'x' <problem>."

    `status` is 400 for a value of the wrong JSON type and 422 for one that breaks a rule; `field`
    names another field than the one validated when a rule is about that one.
    """

    def __init__(self, problem: str, *, status: int = 422, field: Optional[str] = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.field = field


def wrong_type(expected: str) -> Problem:
    return Problem(f"must be {expected}", status=400)


def case_number_as_typed(value: str) -> Optional[str]:
    """The case number's 6 to 8 digits (spaces, dots and dashes removed), or None."""
    digits = _SEPARATORS.sub("", value.strip())
    return digits if CASE_NUMBER.fullmatch(digits) else None


def amount_problem(amount: Decimal) -> Optional[str]:
    """What keeps `amount` from being an amount in kroner a debtor can propose, or None."""
    if not amount.is_finite() or amount <= 0:
        return "must be more than zero"
    # Size before decimals: quantizing a number of 27 or more digits exceeds the decimal context's
    # precision and raises InvalidOperation instead of answering.
    if amount > MAX_AMOUNT:
        return "is larger than any claim"
    if amount != amount.quantize(CENT):
        return "must have at most two decimals"
    return None


def timestamp(value: datetime) -> str:
    """A moment on the wire: UTC, to the second, with its offset."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


# --- request types -------------------------------------------------------------------------------


class Text(str):
    """A JSON string. Subclasses add a rule in `check`, a schema in `SCHEMA`.

    `MISSING` is the problem when the field is required but absent or null (by default 422 "is
    required"); `EXPECTED` completes "must be ..." for a value of another JSON type.
    """

    EXPECTED: ClassVar[str] = "a string"
    MISSING: ClassVar[Optional[Problem]] = None
    SCHEMA: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise wrong_type(cls.EXPECTED)
        return cls.check(value)

    @classmethod
    def check(cls, value: str) -> Any:
        return value

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        # A subclass adds to its parents' rules (a phone number is still 1 to 32 characters).
        schema.update(type="string")
        for klass in reversed(cls.__mro__):
            schema.update(vars(klass).get("SCHEMA", {}))


def bounded_text(max_length: int, *, description: Optional[str] = None) -> Type[Text]:
    """A string of at most `max_length` characters."""

    class BoundedText(Text):
        SCHEMA = {"maxLength": max_length, **({"description": description} if description else {})}

        @classmethod
        def check(cls, value: str) -> str:
            if len(value) > max_length:
                raise Problem(f"must be at most {max_length} characters")
            return value

    return BoundedText


def patterned_text(pattern: re.Pattern[str], problem: str, **schema: Any) -> Type[Text]:
    """A string that matches `pattern` in full."""

    class PatternedText(Text):
        SCHEMA = {"pattern": f"^{pattern.pattern}$", **schema}

        @classmethod
        def check(cls, value: str) -> str:
            if not pattern.fullmatch(value):
                raise Problem(problem)
            return value

    return PatternedText


def one_of(members: Iterable[Enum]) -> Type[Text]:
    """One of `members`' values, read as the enum member."""
    members = tuple(members)
    by_value = {member.value: member for member in members}
    names = ", ".join(by_value)

    class Choice(Text):
        SCHEMA = {"enum": list(by_value)}

        @classmethod
        def check(cls, value: str) -> Enum:
            if value not in by_value:
                raise Problem(f"must be one of {names}")
            return by_value[value]

    return Choice


ConversationId = patterned_text(CONVERSATION_ID, f"must be {CONVERSATION_ID_RULE}", example="web-3f1c0d9e")
HandoffReason = patterned_text(
    HANDOFF_REASON, "must be a lower-case code such as 'requested'", example="not_understood"
)
Username = patterned_text(
    USERNAME,
    "must be 1 to 64 lower-case letters, digits or the characters . _ - (starting with a letter or digit)",
    example="anne",
)


# JSON Schema's `pattern` is unanchored: some character that is not white space (as str.strip sees it).
NOT_BLANK = r"\S"


def message_text(max_length: int) -> Type[Text]:
    """A message someone wrote: not blank, at most `max_length` characters, kept as written."""

    class MessageText(Text):
        SCHEMA = {"minLength": 1, "maxLength": max_length, "pattern": NOT_BLANK}

        @classmethod
        def check(cls, value: str) -> str:
            if not value.strip():
                raise Problem("must not be empty")
            if len(value) > max_length:
                raise Problem(f"must be at most {max_length} characters")
            return value

    return MessageText


class CaseNumberInput(Text):
    """A case number as a debtor types it; read as its 6 to 8 digits."""

    SCHEMA = {
        "pattern": CASE_NUMBER_AS_TYPED,
        "example": "100 001",
        "description": "6 to 8 digits; spaces, dots and dashes are ignored.",
    }

    @classmethod
    def check(cls, value: str) -> str:
        digits = case_number_as_typed(value)
        if digits is None:
            raise Problem("must be a case number of 6 to 8 digits")
        return digits


class IsoDate(Text):
    """A calendar date written YYYY-MM-DD, read as a `date`."""

    SCHEMA = {"format": "date"}

    @classmethod
    def check(cls, value: str) -> date:
        try:
            if not ISO_DATE.fullmatch(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise Problem("must be a date in the form YYYY-MM-DD") from None


class AwareTimestamp(Text):
    """An RFC 3339 timestamp (JSON Schema's `date-time`: a time zone offset or Z, any fraction of a
    second), read as an aware UTC `datetime`."""

    SCHEMA = {"format": "date-time"}

    @classmethod
    def check(cls, value: str) -> datetime:
        # Not `datetime.fromisoformat`: on Python 3.10 it refuses fractions other than 3 or 6
        # digits and a Z, and takes forms RFC 3339 does not (no seconds, no offset).
        match = RFC3339.fullmatch(value)
        try:
            if match is None:
                raise ValueError
            day, hour, minute, second, fraction, zulu, offset_hours, offset_minutes = match.groups()
            if zulu:
                offset = timedelta(0)
            else:
                offset = timedelta(hours=int(offset_hours[1:]), minutes=int(offset_minutes))
                offset = -offset if offset_hours[0] == "-" else offset
            seconds = 59 if second == "60" else int(second)  # a leap second is read as the second before
            parsed = datetime.combine(
                date.fromisoformat(day),
                time(int(hour), int(minute), seconds, int((fraction or "0")[:6].ljust(6, "0"))),
                timezone(offset),
            )
        except ValueError:  # no match, a day or time that does not exist, an offset of 24 hours or more
            raise Problem(
                "must be an RFC 3339 timestamp with a time zone offset, such as 2026-11-25T09:30:00Z"
            ) from None
        return parsed.astimezone(timezone.utc)


class Amount(Decimal):
    """An amount in NOK a debtor proposes: a string of plain decimals (or whole kroner as a JSON
    integer), more than 0, at most `MAX_AMOUNT`, at most two decimals; read as a `Decimal`."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> Decimal:
        # JSON numbers with a fraction arrive as floats: money must come as a string (or whole kroner).
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise wrong_type('an amount as a string such as "500.00", or whole kroner')
        text = str(value).strip()
        # Plain decimal notation only: `Decimal` would also take exponents ("1e30"), NaN,
        # underscores and non-ASCII digits, none of which is an amount a debtor typed.
        if not AMOUNT.fullmatch(text):
            raise Problem("must be an amount such as 500.00")
        try:
            amount = Decimal(text)
            problem = amount_problem(amount)
        except ArithmeticError:  # decimal.InvalidOperation and its kin: a 422, never a 500
            raise Problem("must be an amount such as 500.00") from None
        if problem:
            raise Problem(problem)
        return amount.quantize(CENT)

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.pop("type", None)  # pydantic's "number" for a Decimal: the wire has a string or an integer
        schema.update(
            oneOf=[
                {"type": "string", "pattern": AMOUNT_AS_TYPED},
                {"type": "integer", "minimum": 1, "maximum": int(MAX_AMOUNT)},
            ],
            example="500.00",
            description="NOK as a string of digits with at most two decimals (or whole kroner as an integer); "
            f"more than 0 and at most {MAX_AMOUNT}.",
        )


class WholeNumber(int):
    """A JSON integer (not a bool, not a number with a fraction)."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong_type("a whole number")
        return value

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="integer")


def whole_number(minimum: int, maximum: int) -> Type[WholeNumber]:
    """A JSON integer from `minimum` to `maximum`."""

    class BoundedWholeNumber(WholeNumber):
        @classmethod
        def validate(cls, value: Any) -> int:
            number = super().validate(value)
            if not minimum <= number <= maximum:
                raise Problem(f"must be between {minimum} and {maximum}")
            return number

        @classmethod
        def __modify_schema__(cls, schema: dict[str, Any]) -> None:
            schema.update(type="integer", minimum=minimum, maximum=maximum)

    return BoundedWholeNumber


class Acceptance(int):
    """`true` and nothing else: the debtor's explicit acceptance (absent is no acceptance)."""

    MISSING: ClassVar[Problem] = Problem("must be true: a plan is only made on the debtor's explicit acceptance")

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> bool:
        if value is not True:
            raise Problem(cls.MISSING.problem)
        return True

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="boolean", enum=[True], description="The debtor's explicit acceptance.")


# --- response types ------------------------------------------------------------------------------


class Money(str):
    """NOK on the wire: a string with exactly two decimals ("2450.00"), from a `Decimal`."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if isinstance(value, Decimal):
            return money(value)
        if isinstance(value, str) and MONEY.fullmatch(value):
            return value
        raise ValueError("not money with two decimals")

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", pattern=f"^{MONEY.pattern}$", example="2450.00", description="NOK")


class Percent(str):
    """A rate in percent with two decimals ("12.50")."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, str) and MONEY.fullmatch(value):
            return value
        raise ValueError("not a percentage with two decimals")

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", pattern=f"^{MONEY.pattern}$", example="12.50")


class CaseNumber(str):
    """A case number as the case system writes it: 6 to 8 digits."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if not isinstance(value, str) or not CASE_NUMBER.fullmatch(value):
            raise ValueError("not a case number")
        return value

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", pattern=f"^{CASE_NUMBER.pattern}$", example="100001")


class RightsReference(str):
    """A rights request's short reference, such as PV-7K3QXM."""

    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if not isinstance(value, str) or not RIGHTS_REFERENCE.fullmatch(value):
            raise ValueError("not a rights-request reference")
        return value

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", pattern=f"^{RIGHTS_REFERENCE.pattern}$", example="PV-7K3QXM")
