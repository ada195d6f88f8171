"""Hardship: empathy, no pressure, and real help. Words of crisis go straight to a person with
priority and the crisis contacts; otherwise the free public debt advice, a plan, or a caseworker
(offered with priority: the handoff reason is `hardship`)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import hand_off
from actions.payments import FLOW
from bot import support_contacts as support
from bot.case_system.contract.enums import HandoffPriority


class ActionRespondToHardship(Action):
    def name(self) -> str:
        return "action_respond_to_hardship"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if support.mentions_crisis(text):
            dispatcher.utter_message(
                response="utter_crisis_contacts",
                emergency_phone=support.phone_of("emergency_medical"),
                helpline_phone=support.phone_of("mental_helse"),
            )
            handed_off = await hand_off(
                dispatcher,
                tracker,
                reason="hardship",
                priority=HandoffPriority.HIGH.value,
                note="Crisis words in the conversation: call the debtor back first.",
                case_number=tracker.get_slot("verified_case_number"),
            )
            return [SlotSet(FLOW, "crisis"), SlotSet("handoff_reason", None), *handed_off]
        dispatcher.utter_message(response="utter_hardship_empathy")
        dispatcher.utter_message(
            response="utter_debt_advice", debt_advice_phone=support.phone_of("nav_okonomiradgivning")
        )
        return [SlotSet(FLOW, "hardship_offered"), SlotSet("handoff_reason", "hardship")]
