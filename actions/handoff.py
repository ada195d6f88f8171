"""Hands the conversation to a human caseworker through the case system."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, channel_of, language_of, transcript
from actions.formatting import moment
from actions.services import case_system, settings
from bot.case_system.contract.enums import HandoffPriority

HIGH_PRIORITY_REASONS = {"hardship"}


async def hand_off(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    note: str = "",
    priority: str = HandoffPriority.NORMAL.value,
    case_number: Optional[str] = None,
) -> bool:
    """Create a handoff with the transcript so far and `note` for the caseworker, and tell the
    debtor (a reference, or a phone number if the case system is down). Returns whether it worked."""
    verified = bool(tracker.get_slot("verified"))
    handoff = {
        "conversation_id": tracker.sender_id,
        "channel": channel_of(tracker),
        "reason": reason,
        "priority": priority,
        "case_number": case_number if verified else None,
        # For the caseworker, not the debtor: who is waiting and whether they were verified.
        "summary": f"Reason: {reason}. Identity {'verified' if verified else 'not verified'}. {note}".strip(),
        "transcript": transcript(tracker),
    }
    try:
        created = await case_system().create_handoff(handoff, caller=caller_for(tracker, purpose="handoff"))
    except (CaseSystemUnavailable, CaseSystemRejected):
        dispatcher.utter_message(response="utter_handoff_failed", agency_phone=settings().agency_phone)
        return False
    # Told honestly: inside opening hours within the service level, otherwise at the next opening.
    answer_by = moment(created.expected_answer_by, language_of(tracker), now=datetime.now(timezone.utc))
    dispatcher.utter_message(response="utter_handoff_created", handoff_id=created.id, answer_by=answer_by)
    return True


class ActionCreateHandoff(Action):
    def name(self) -> str:
        return "action_create_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reason = tracker.get_slot("handoff_reason") or "requested"
        created = await hand_off(
            dispatcher,
            tracker,
            reason=reason,
            priority=(HandoffPriority.HIGH if reason in HIGH_PRIORITY_REASONS else HandoffPriority.NORMAL).value,
            case_number=tracker.get_slot("verified_case_number"),
        )
        return [SlotSet("handoff_reason", None)] if created else []
