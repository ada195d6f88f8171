"""Collects the verification factors and asks the case system to check them.

The national identity number is used once, in the turn it was given: the verifying action
clears the slot, and the tracker store redacts it from everything it persists.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, sender_phone
from actions.services import case_system, settings
from bot.case_system.contract.responses import VerificationRefused

CASE_NUMBER = re.compile(r"^\d{6,8}$")
NATIONAL_ID = re.compile(r"^\d{11}$")

# Factors are forgotten once used. After a plain refusal the case number as typed is kept, so the
# debtor can correct the date without typing it again; every new attempt still counts towards
# the case system's lock, and the refusal says the same whichever factor was wrong.
FORGET_FACTORS = [SlotSet("case_number", None), SlotSet("birth_date", None), SlotSet("national_id", None)]
FORGET_SECOND_FACTOR = [SlotSet("birth_date", None), SlotSet("national_id", None)]


def birth_date_from_digits(digits: str, today: date) -> Optional[date]:
    """A case-number-shaped answer to "what is your birth date?": DDMMYY or DDMMYYYY."""
    try:
        if len(digits) == 6:
            year = 2000 + int(digits[4:])
            if year > today.year:
                year -= 100
            return date(year, int(digits[2:4]), int(digits[:2]))
        if len(digits) == 8:
            return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None
    return None


def previous_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message."""
    seen_user_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user_message = True
        elif seen_user_message and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def awaits_birth_date(tracker: Tracker) -> bool:
    """The form asks for the birth date, or a refusal just asked for it again."""
    if tracker.get_slot("requested_slot") == "birth_date":
        return True
    return tracker.get_slot("verification_outcome") == "refused" and previous_value(tracker, "case_number") is not None


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # A national identity number replaces the birth date as the second factor.
        if tracker.get_slot("national_id"):
            return ["case_number", "national_id"]
        return ["case_number", "birth_date"]

    def validate_case_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = re.sub(r"\D", "", str(value or ""))
        if awaits_birth_date(tracker):
            # Asked for a birth date, the debtor typed "140385": that is the answer, not a case.
            born = birth_date_from_digits(digits, date.today())
            if born is not None:
                return {"case_number": previous_value(tracker, "case_number"), "birth_date": born.isoformat()}
        if CASE_NUMBER.match(digits):
            return {"case_number": digits}
        dispatcher.utter_message(response="utter_invalid_case_number")
        return {"case_number": None}

    def validate_birth_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            born = date.fromisoformat(str(value))
        except ValueError:
            born = None
        if born is None or born >= date.today() or born.year < 1900:
            dispatcher.utter_message(response="utter_invalid_birth_date")
            return {"birth_date": None}
        return {"birth_date": born.isoformat()}

    def validate_national_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = re.sub(r"\D", "", str(value or ""))
        return {"national_id": digits if NATIONAL_ID.match(digits) else None}


class ActionVerifyIdentity(Action):
    def name(self) -> str:
        return "action_verify_identity"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        national_id = tracker.get_slot("national_id")
        try:
            result = await case_system().verify(
                case_number=tracker.get_slot("case_number") or "",
                birth_date=None if national_id else tracker.get_slot("birth_date"),
                national_id=national_id,
                phone=sender_phone(tracker),
                caller=caller_for(tracker, purpose="identity_verification"),
            )
        except CaseSystemUnavailable:
            dispatcher.utter_message(response="utter_case_system_unavailable", agency_phone=settings().agency_phone)
            return [*FORGET_FACTORS, SlotSet("verification_outcome", "unavailable")]
        except CaseSystemRejected:
            # Malformed factors (an impossible identity number, a future date) get the same
            # answer as wrong ones.
            dispatcher.utter_message(response="utter_verification_refused")
            return [*FORGET_SECOND_FACTOR, SlotSet("verification_outcome", "refused")]

        if isinstance(result, VerificationRefused):
            if result.outcome == "locked":
                dispatcher.utter_message(
                    response="utter_verification_locked", lock_minutes=minutes_until(result.locked_until)
                )
                return [*FORGET_FACTORS, SlotSet("verification_outcome", "locked"), SlotSet("handoff_reason", "locked")]
            dispatcher.utter_message(response="utter_verification_refused")
            return [*FORGET_SECOND_FACTOR, SlotSet("verification_outcome", "refused")]

        dispatcher.utter_message(response="utter_verified")
        if len(result.case_numbers) > 1:
            dispatcher.utter_message(
                response="utter_several_cases",
                case_count=len(result.case_numbers),
                case_number=result.verified_case_number,
            )
        return [
            *FORGET_FACTORS,
            SlotSet("verified", True),
            SlotSet("verification_outcome", "verified"),
            SlotSet("verified_case_number", result.verified_case_number),
            SlotSet("case_numbers", list(result.case_numbers)),
        ]


class ActionWrongPerson(Action):
    """ "I am not the person you are looking for": nothing about any case is said or asked any
    more; the factors and the question waiting for verification are forgotten, and a caseworker
    (reason `wrong_person`) is offered so that the agency can correct its records."""

    def name(self) -> str:
        return "action_wrong_person"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_wrong_person")
        return [*FORGET_FACTORS, SlotSet("pending_topic", None), SlotSet("handoff_reason", "wrong_person")]


def minutes_until(moment: Optional[datetime]) -> int:
    if moment is None:
        return settings().verification_lock_minutes
    remaining = moment - datetime.now(timezone.utc)
    return max(1, math.ceil(remaining.total_seconds() / 60))
