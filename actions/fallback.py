"""When a message is not understood: ask to rephrase, offering the two likeliest topics; the
second misunderstanding in a row offers a caseworker instead (a handoff with reason
`not_understood` if the debtor accepts)."""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import language_of

TOPIC_LABEL_PREFIX = "utter_topic_label_"


def response_text(domain: DomainDict, response: str, language: str) -> Optional[str]:
    """The text of a domain response in `language` (the labels of buttons live in the domain too)."""
    variations = domain.get("responses", {}).get(response) or []
    for variation in variations:
        conditions = variation.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variation.get("text")
    defaults = [v for v in variations if not v.get("condition")]
    return defaults[0].get("text") if defaults else None


def likely_topics(tracker: Tracker, domain: DomainDict, language: str, count: int = 2) -> list[dict[str, Any]]:
    """Buttons for the highest-ranked intents that are topics the debtor can pick."""
    buttons = []
    for ranked in tracker.latest_message.get("intent_ranking") or []:
        label = response_text(domain, f"{TOPIC_LABEL_PREFIX}{ranked.get('name')}", language)
        if label:
            buttons.append({"title": label, "payload": f"/{ranked['name']}"})
        if len(buttons) == count:
            break
    return buttons


class ActionAskRephrase(Action):
    def name(self) -> str:
        return "action_ask_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("misunderstood") is not None:
            dispatcher.utter_message(response="utter_still_not_understood")
            return [SlotSet("misunderstood", "twice"), SlotSet("handoff_reason", "not_understood")]
        buttons = likely_topics(tracker, domain, language_of(tracker))
        dispatcher.utter_message(response="utter_ask_rephrase", buttons=buttons)
        return [SlotSet("misunderstood", "once"), SlotSet("handoff_reason", "not_understood")]
