"""Bookkeeping at the start of every turn (Rasa's `action_validate_slot_mappings`).

- The reply language follows the language the debtor writes in, unless they chose one
  explicitly (switch_language), which then holds for the session.
- The count of misunderstandings in a row resets as soon as a message is understood.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.nlu.language import detect_language


class ValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("language_chosen"):
            return {}
        guess = detect_language(tracker.latest_message.get("text") or "")
        if guess and guess != tracker.get_slot("language"):
            return {"language": guess}
        return {}

    async def extract_misunderstood(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent != "nlu_fallback" and tracker.get_slot("misunderstood") is not None:
            return {"misunderstood": None}
        return {}
