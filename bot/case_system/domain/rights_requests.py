"""GDPR data-subject requests (rettigheter etter personvernforordningen): the rules, as plain functions.

- A request is answered within one calendar month of receipt (GDPR Art. 12(3)). A period in months
  ends on the same date of the following month, or on that month's last day when it has no such
  date (Regulation 1182/71 Art. 3(2)(c)): received 31 January, due 28 February (29 in a leap year).
  The day counts in Norway (Europe/Oslo), and the deadline is the end of that day.
- A request from someone whose identity is not yet confirmed is logged all the same (Art. 12(6)
  lets us ask for confirmation; it does not let us ignore the request). Nothing is disclosed to them.
- A caseworker may extend the deadline by up to two further months, with a reason, where the
  request is complex or there are many (Art. 12(3)); only within the first month after receipt,
  and the debtor is told of it and why. Received 31 January and extended by two months: due 30
  April (three months from receipt) instead of 28 February. An extended request is overdue only
  after its extended deadline.
- A request the agency refuses (does not act on) is closed as rejected; the debtor is told why and
  that they may complain to Datatilsynet and seek a judicial remedy (Art. 12(4), 77 and 79).
- Each request gets a short reference the debtor can quote: random rather than sequential, so
  that it says nothing about how many requests others have made.
"""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from bot.case_system.contract.enums import RightsNotice, RightsRequestStatus, RightsRequestType, VerificationMethod
from bot.case_system.store.models import Debtor
from bot.config import TIMEZONE

OSLO = ZoneInfo(TIMEZONE)

# Crockford's base 32 without I, L, O and U: nothing to misread when it is read aloud or typed.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "PV"  # personvern
REFERENCE_LENGTH = 6  # 32**6 ≈ 10⁹ references: collisions are rare and retried

NoticeOutcome = RightsNotice  # what became of the notice to the debtor (queued, suppressed, no channel)

# Requests still waiting for the agency; only these can be overdue.
OPEN_STATUSES = (RightsRequestStatus.RECEIVED, RightsRequestStatus.IN_PROGRESS)

# Rights whose answer is the debtor's own data (Art. 15 and 20): an export is produced for them.
EXPORT_TYPES = frozenset({RightsRequestType.ACCESS, RightsRequestType.PORTABILITY})

# How a debtor's identity was confirmed; never the value used.
VERIFICATION_METHODS = (VerificationMethod.BIRTH_DATE.value, VerificationMethod.NATIONAL_ID.value)

# The dialogue's intents for each right (the intent catalogue is a contract).
INTENT_TYPES = {f"rights_{kind.value}": kind for kind in RightsRequestType}


def type_for_intent(intent: str) -> Optional[RightsRequestType]:
    """The right a `rights_*` intent exercises, or None for any other intent."""
    return INTENT_TYPES.get(intent)


MAX_EXTENSION_MONTHS = 2  # Art. 12(3): "by two further months where necessary"


def add_months(day: date, months: int) -> date:
    """The same date `months` months later, or that month's last day when it has no such date."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_one_month(day: date) -> date:
    """The same date next month, or that month's last day when it has no such date."""
    return add_months(day, 1)


def due_date(received_at: datetime, extended_months: int = 0) -> date:
    """The last day (in Norway) on which a request received at `received_at` must be answered;
    counted from receipt, so one month plus any extension (31 January + 3 months is 30 April)."""
    return add_months(received_at.astimezone(OSLO).date(), 1 + (extended_months or 0))


def due_at(received_at: datetime, extended_months: int = 0) -> datetime:
    """The deadline as a moment: the end of the due date in Oslo, in UTC."""
    next_day = datetime.combine(due_date(received_at, extended_months) + timedelta(days=1), time(0), tzinfo=OSLO)
    return (next_day - timedelta(seconds=1)).astimezone(timezone.utc)


class ExtensionRefused(ValueError):
    """Why a request cannot be extended; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_extension(
    *, status: RightsRequestStatus, received_at: datetime, extended_months: Optional[int], months: int, now: datetime
) -> None:
    """Raise `ExtensionRefused` unless an open request may be extended by `months` at `now`:
    once, by one or two months, within the first month after receipt."""
    if months < 1 or months > MAX_EXTENSION_MONTHS:
        raise ExtensionRefused("invalid_extension", f"An extension is 1 to {MAX_EXTENSION_MONTHS} months.")
    if status not in OPEN_STATUSES:
        raise ExtensionRefused("request_closed", "Only an open request can be extended.")
    if extended_months:
        raise ExtensionRefused("already_extended", "The request has already been extended.")
    if now > due_at(received_at):
        raise ExtensionRefused(
            "extension_too_late", "An extension must be made within one month of receiving the request."
        )


def is_overdue(status: RightsRequestStatus, deadline: datetime, now: datetime) -> bool:
    """Whether a request is still open after its deadline."""
    return status in OPEN_STATUSES and now > deadline


def new_reference() -> str:
    """A fresh short reference such as `PV-7K3QXM`."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{REFERENCE_PREFIX}-{body}"


def normalise_reference(value: str) -> Optional[str]:
    """A reference as typed (any case, with or without the dash) in its stored form, or None."""
    compact = value.strip().upper().replace("-", "").replace(" ", "")
    if not compact.startswith(REFERENCE_PREFIX):
        return None
    body = compact[len(REFERENCE_PREFIX) :]
    if len(body) != REFERENCE_LENGTH or any(char not in REFERENCE_ALPHABET for char in body):
        return None
    return f"{REFERENCE_PREFIX}-{body}"


@dataclass(frozen=True)
class Effects:
    """What a new request changes at once, besides being logged."""

    set_marketing_objection: bool = False  # Art. 21(3): an objection to direct marketing is absolute
    create_handoff: bool = False  # Art. 22(3): a person reviews an automated decision
    produce_export: bool = False  # Art. 15 and 20: the debtor's data, for a caseworker to review


def effects_of(kind: RightsRequestType, *, verified: bool) -> Effects:
    """What happens at once when a request of `kind` is logged.

    Nothing that touches or discloses a person's data happens before their identity is confirmed:
    an unverified objection or access request is logged and waits for confirmation. A request for
    human review is handed to a caseworker either way, because a person must look at it.
    """
    return Effects(
        set_marketing_objection=verified and kind is RightsRequestType.OBJECTION,
        create_handoff=kind is RightsRequestType.HUMAN_REVIEW,
        produce_export=verified and kind in EXPORT_TYPES,
    )


def initial_status(effects: Effects) -> RightsRequestStatus:
    """Received; in progress when work on it has already started (an export or a handoff)."""
    if effects.produce_export or effects.create_handoff:
        return RightsRequestStatus.IN_PROGRESS
    return RightsRequestStatus.RECEIVED


def may_market_to(debtor: Debtor) -> bool:
    """Whether the agency may send `debtor` marketing: never after an objection to it."""
    return not debtor.marketing_objection
