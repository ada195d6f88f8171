"""Hands the conversation to a human caseworker through the case system, so that it can be
followed up: a short reference (`H-7K3QXM`), how an unverified debtor asked to be reached, and,
until a caseworker answers, the debtor's further messages added to the handoff."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, channel_of, language_of, sender_phone, transcript
from actions.formatting import moment
from actions.services import case_system, settings
from bot.case_system.contract.enums import Channel, HandoffPriority
from bot.contact_details import normalise_contact_phone, parse_contact
from bot.redaction import redact_text

HIGH_PRIORITY_REASONS = {"hardship"}
CONTACT_SLOT = "handoff_contact"
SMS_SENDER = "sms_sender"  # the debtor confirmed the number they write from
DECLINED = "declined"
CONTACT_PLACEHOLDER = "[kontaktopplysning]"  # the contact as the caseworker's transcript shows it
CONTACT_FORM = "handoff_contact_form"
REASON_SLOT = "handoff_contact_reason"
# What a message added to a handoff that has meanwhile closed runs instead (by intent, then by
# whether the debtor is verified): the flow it would have run without the handoff.
AGAIN = {
    "request_human": {True: "action_create_handoff", False: "action_create_handoff"},
    "dispute_claim": {True: "action_record_dispute"},
}


def needs_contact(tracker: Tracker) -> bool:
    """An unverified debtor who has not yet said how to reach them (or that they would rather not).
    Not on the phone: the call itself is transferred to a caseworker (bot/channels/twilio_voice.py)."""
    return (
        not tracker.get_slot("verified")
        and not tracker.get_slot(CONTACT_SLOT)
        and channel_of(tracker) != Channel.VOICE.value
    )


def ask_for_contact(reason: str) -> list[EventType]:
    """Open the form that asks how to reach the debtor: an active loop is what the dialogue runs
    next (Rasa's rule policy), and the form asks its question. Once it is complete,
    action_create_handoff runs again (data/rules/handoff.yml) with `reason`."""
    return [SlotSet("handoff_reason", reason), SlotSet(REASON_SLOT, reason), ActiveLoop(CONTACT_FORM)]


def contact_fields(tracker: Tracker) -> dict[str, str]:
    """The contact the debtor gave, as the handoff stores it (nothing when none or declined)."""
    given = tracker.get_slot(CONTACT_SLOT)
    if given == SMS_SENDER:
        phone = sender_phone(tracker)
        try:
            return {"contact_phone": normalise_contact_phone(phone)} if phone else {}
        except ValueError:
            return {}
    contact = parse_contact(given) if given and given != DECLINED else None
    if contact is None:
        return {}
    return {"contact_phone": contact.value} if contact.kind == "phone" else {"contact_email": contact.value}


def _without_contact(lines: list[dict[str, Any]], contact: dict[str, str]) -> list[dict[str, Any]]:
    """The transcript with the message that gave the contact replaced: it is kept with the
    handoff as a field, once, not in the conversation's text."""
    if not contact:
        return lines
    values = set(contact.values())
    return [
        {**line, "text": CONTACT_PLACEHOLDER} if (parse_contact(line["text"]) or (None, None))[1] in values else line
        for line in lines
    ]


async def hand_off(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    note: str = "",
    priority: str = HandoffPriority.NORMAL.value,
    case_number: Optional[str] = None,
) -> list[EventType]:
    """Create a handoff with the transcript so far, `note` for the caseworker and the contact an
    unverified debtor gave, and tell the debtor (the reference and when, or a phone number if the
    case system is down). The events remember the open handoff; none when it failed."""
    verified = bool(tracker.get_slot("verified"))
    contact = {} if verified else contact_fields(tracker)
    handoff = {
        "conversation_id": tracker.sender_id,
        "channel": channel_of(tracker),
        "reason": reason,
        "priority": priority,
        "case_number": case_number if verified else None,
        # For the caseworker, not the debtor: who is waiting and whether they were verified.
        "summary": f"Reason: {reason}. Identity {'verified' if verified else 'not verified'}. {note}".strip(),
        "transcript": _without_contact(transcript(tracker), contact),
        **contact,
    }
    try:
        created = await case_system().create_handoff(handoff, caller=caller_for(tracker, purpose="handoff"))
    except (CaseSystemUnavailable, CaseSystemRejected):
        dispatcher.utter_message(response="utter_handoff_failed", agency_phone=settings().agency_phone)
        return [SlotSet(CONTACT_SLOT, None)] if tracker.get_slot(CONTACT_SLOT) else []
    # Told honestly: inside opening hours within the service level, otherwise at the next opening.
    answer_by = moment(created.expected_answer_by, language_of(tracker), now=datetime.now(timezone.utc))
    dispatcher.utter_message(response="utter_handoff_created", handoff_id=created.reference, answer_by=answer_by)
    if not verified and handoff["channel"] != Channel.VOICE.value:  # a call is transferred as it is
        if contact:
            dispatcher.utter_message(response="utter_handoff_contact_noted")
        else:
            dispatcher.utter_message(response="utter_handoff_no_contact", agency_phone=settings().agency_phone)
    return [SlotSet(CONTACT_SLOT, None), SlotSet("handoff_reference", created.reference), SlotSet("handoff_open", True)]


class ActionCreateHandoff(Action):
    def name(self) -> str:
        return "action_create_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reason = tracker.get_slot(REASON_SLOT) or tracker.get_slot("handoff_reason") or "requested"
        if needs_contact(tracker):
            return ask_for_contact(reason)
        events = await hand_off(
            dispatcher,
            tracker,
            reason=reason,
            priority=(HandoffPriority.HIGH if reason in HIGH_PRIORITY_REASONS else HandoffPriority.NORMAL).value,
            case_number=tracker.get_slot("verified_case_number"),
        )
        forget = [SlotSet("handoff_reason", None), SlotSet(REASON_SLOT, None)]
        return [*events, *forget] if opened(events) else events


def opened(events: list[EventType]) -> bool:
    """Whether `hand_off` made (or found) the handoff."""
    return any(event.get("name") == "handoff_open" and event.get("value") for event in events)


class ValidateHandoffContactForm(FormValidationAction):
    """A phone number or an e-mail address, checked; on SMS a yes means the number they write
    from; a no is respected (the handoff is made, and the debtor told how to reach us)."""

    def name(self) -> str:
        return "validate_handoff_contact_form"

    async def validate_handoff_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = str(value or "")
        contact = parse_contact(text)
        if contact is not None:
            return {CONTACT_SLOT: contact.value}
        if intent == "affirm" and channel_of(tracker) == Channel.SMS.value and sender_phone(tracker):
            return {CONTACT_SLOT: SMS_SENDER}
        if intent in ("deny", "goodbye"):
            return {CONTACT_SLOT: DECLINED}
        dispatcher.utter_message(response="utter_handoff_contact_invalid")
        return {CONTACT_SLOT: None}


class ActionAddToHandoff(Action):
    """A message while the conversation's handoff waits for a caseworker: added to the handoff
    for the caseworker, and the debtor told so, instead of the flow that made it running again.
    Once a caseworker has taken the conversation, the assistant is paused and the dialogue server
    forwards messages itself (bot/caseworker_relay.py); once it is resolved or handed back, the
    assistant answers as usual again."""

    def name(self) -> str:
        return "action_add_to_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        message = tracker.latest_message
        at = datetime.fromtimestamp(_timestamp(tracker), tz=timezone.utc).isoformat()
        text = redact_text(message.get("text") or "")
        try:
            await case_system().record_debtor_message(
                tracker.sender_id, text, at, caller=caller_for(tracker, purpose="handoff_message")
            )
        except CaseSystemRejected:
            # No open handoff any more (resolved or handed back): the assistant answers again.
            closed: list[EventType] = [SlotSet("handoff_open", False), SlotSet("handoff_reference", None)]
            intent = (message.get("intent") or {}).get("name")
            again = AGAIN.get(intent or "", {}).get(bool(tracker.get_slot("verified")))
            if again is None:
                dispatcher.utter_message(response="utter_anything_else")
                return closed
            return [*closed, FollowupAction(again)]
        except CaseSystemUnavailable:
            dispatcher.utter_message(response="utter_handoff_failed", agency_phone=settings().agency_phone)
            return []
        dispatcher.utter_message(response="utter_added_to_handoff", handoff_id=tracker.get_slot("handoff_reference"))
        return []


def _timestamp(tracker: Tracker) -> float:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return float(event.get("timestamp") or 0)
    return datetime.now(timezone.utc).timestamp()
