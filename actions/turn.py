"""Bookkeeping at the start of every turn, before the dialogue policy answers.

- `action_detect_language` (the `language` slot's custom mapping) sets the reply language from
  the debtor's message, unless they chose one explicitly (switch_language), which then holds for
  the session. Rasa runs it before `action_validate_slot_mappings`, so what that action says is
  already in the new language.
- `action_validate_slot_mappings`:
  - says the digital-assistant notice when the session began without a language hint (SMS, REST,
    the phone): this way the very first words are in the language of the debtor's first message;
  - acknowledges anger in one sentence, once a session, before the answer (a dispute or hardship
    has its own acknowledgement);
  - resets the count of misunderstandings in a row as soon as a message is understood.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.empathy import is_angry
from actions.services import settings
from bot.nlu.language import detect_language

# Intents that acknowledge feelings themselves.
OWN_ACKNOWLEDGEMENT = {"dispute_claim", "report_hardship"}
# Intents that do not reset the count of misunderstandings: the debtor was not helped.
NOT_HELPED = {"nlu_fallback", "out_of_scope"}
FRUSTRATION = "utter_acknowledge_frustration"


class ActionDetectLanguage(Action):
    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("language_chosen"):
            return []
        guess = detect_language(tracker.latest_message.get("text") or "")
        if guess and guess != tracker.get_slot("language"):
            return [SlotSet("language", guess)]
        return []


class ValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("assistant_introduced") is False:
            dispatcher.utter_message(response="utter_digital_assistant_notice", agency_name=settings().agency_name)
        if acknowledges_frustration(tracker):
            dispatcher.utter_message(response=FRUSTRATION)
        return await super().run(dispatcher, tracker, domain)

    async def extract_assistant_introduced(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"assistant_introduced": True} if tracker.get_slot("assistant_introduced") is False else {}

    async def extract_misunderstood(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in NOT_HELPED and tracker.get_slot("misunderstood") is not None:
            return {"misunderstood": None}
        return {}


def acknowledges_frustration(tracker: Tracker) -> bool:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in OWN_ACKNOWLEDGEMENT or not is_angry(tracker.latest_message.get("text") or ""):
        return False
    return not any(
        event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == FRUSTRATION
        for event in tracker.events
    )
