"""When a message is not understood, or asks for something the assistant cannot do, the answer
escalates and never repeats itself in a row: first a request to rephrase with the two likeliest
topics as buttons (or, out of scope, what the assistant can do); the second time in a row the offer
of a caseworker (a handoff with reason `not_understood` if the debtor accepts); the third time the
agency's phone number; then round again."""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import language_of
from actions.services import settings

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


# Offered when the message's ranking names no topic at all.
DEFAULT_TOPICS = ("ask_balance", "ask_payment_info")
# The count of misunderstandings in a row, round and round: never the same answer twice in a row.
NEXT_COUNT = {None: "once", "once": "twice", "twice": "thrice", "thrice": "once"}


def likely_topics(tracker: Tracker, domain: DomainDict, language: str, count: int = 2) -> list[dict[str, Any]]:
    """Buttons for the highest-ranked intents that are topics the debtor can pick."""
    ranked = [entry.get("name") for entry in tracker.latest_message.get("intent_ranking") or []]
    buttons = []
    for intent in [*ranked, *DEFAULT_TOPICS]:
        label = response_text(domain, f"{TOPIC_LABEL_PREFIX}{intent}", language)
        if label and all(button["payload"] != f"/{intent}" for button in buttons):
            buttons.append({"title": label, "payload": f"/{intent}"})
        if len(buttons) == count:
            break
    return buttons


class ActionAskRephrase(Action):
    def name(self) -> str:
        return "action_ask_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        count = NEXT_COUNT.get(tracker.get_slot("misunderstood"), "once")
        out_of_scope = (tracker.latest_message.get("intent") or {}).get("name") == "out_of_scope"
        if count == "once" and out_of_scope:
            dispatcher.utter_message(response="utter_out_of_scope")
        elif count == "once":
            dispatcher.utter_message(
                response="utter_ask_rephrase", buttons=likely_topics(tracker, domain, language_of(tracker))
            )
        elif count == "twice":
            # utter_offer_caseworker follows (data/rules/conversation.yml).
            dispatcher.utter_message(
                response="utter_still_cannot_help" if out_of_scope else "utter_still_not_understood"
            )
        else:
            dispatcher.utter_message(response="utter_not_understood_call", agency_phone=settings().agency_phone)
        return [SlotSet("misunderstood", count), SlotSet("handoff_reason", "not_understood")]
