"""Session start, language and contact: the conversation's frame rather than its content."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import settings

LANGUAGES = {"nb", "en"}


class ActionSessionStart(Action):
    """Every session begins by saying that this is a digital assistant, not a person.

    Slots are not carried over: verification lasts for one session only. A channel that starts
    the session before the debtor writes (the web page) passes the page's language as a hint, and
    the notice is said at once in that language. Without a hint the notice waits for the first
    message, so that it is said in that message's language (actions/turn.py).
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata") or {}
        hint = metadata.get("language")
        if hint not in LANGUAGES:
            return [SessionStarted(), SlotSet("assistant_introduced", False), ActionExecuted("action_listen")]
        dispatcher.utter_message(response="utter_digital_assistant_notice", agency_name=settings().agency_name)
        return [
            SessionStarted(),
            SlotSet("language", hint),
            SlotSet("assistant_introduced", True),
            ActionExecuted("action_listen"),
        ]


class ActionSwitchLanguage(Action):
    def name(self) -> str:
        return "action_switch_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        requested = next(tracker.get_latest_entity_values("language"), None)
        if requested not in LANGUAGES:
            # "Another language, please" without naming one: switch to the other one.
            requested = "nb" if tracker.get_slot("language") == "en" else "en"
        # An explicit choice holds for the session, whatever language later messages are in.
        return [SlotSet("language", requested), SlotSet("language_chosen", True)]


class ActionTellContact(Action):
    def name(self) -> str:
        return "action_tell_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = settings()
        dispatcher.utter_message(
            response="utter_contact", agency_phone=config.agency_phone, agency_website=config.agency_website
        )
        return []
