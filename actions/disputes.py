"""Disputes: the objection is taken, never argued. Recorded with the debtor's own words,
collection on the case stops, the debtor hears what happens next, and a caseworker gets it."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for
from actions.handoff import hand_off
from actions.payments import unavailable
from actions.services import case_system


def dispute_reason(tracker: Tracker) -> str:
    """The debtor's latest message that disputed the claim (it may precede verification)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == "dispute_claim":
            return event.get("text") or ""
    return tracker.latest_message.get("text") or ""


async def record_dispute(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    case_number = tracker.get_slot("verified_case_number")
    try:
        dispute = await case_system().create_dispute(
            case_number, dispute_reason(tracker), caller=caller_for(tracker, purpose="dispute")
        )
    except CaseSystemUnavailable:
        return unavailable(dispatcher)
    except CaseSystemRejected as rejected:
        if rejected.code == "case_closed":
            dispatcher.utter_message(response="utter_case_closed", case_number=case_number)
            return await hand_off(
                dispatcher, tracker, reason="dispute", note="Dispute on a closed case.", case_number=case_number
            )
        return unavailable(dispatcher)
    dispatcher.utter_message(response="utter_dispute_recorded", case_number=case_number)
    handed_off = await hand_off(
        dispatcher,
        tracker,
        reason="dispute",
        note=f"Dispute {dispute.id} recorded; collection stopped. The debtor's reason is in the transcript.",
        case_number=case_number,
    )
    return [SlotSet("handoff_reason", None), *handed_off]


class ActionRecordDispute(Action):
    def name(self) -> str:
        return "action_record_dispute"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await record_dispute(dispatcher, tracker)
