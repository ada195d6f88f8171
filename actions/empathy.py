"""Hearing how something was said before answering it.

The anger signal is deliberately simple, so a caseworker can see why it fired: a word that
carries anger on its own ("robotsvar", "latterlig", "forbanna"), or two of the milder signs
together (a shouted word in capitals, exclamation marks).
"""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Lower-case word stems; a word starting with one of them counts ("latterlig" covers "latterlige").
ANGRY_STEMS = (
    # Bokmål and Nynorsk
    "robotsvar",
    "latterlig",
    "forbanna",
    "forbannet",
    "faen",
    "jævla",
    "jævlig",
    "helvete",
    "drittsekk",
    "svindel",
    "svindl",
    "tyveri",
    "tjuveri",
    "frekt",
    "frekkhet",
    "rasende",
    "sint",
    "idiot",
    "hersens",
    "ubrukelig",
    "skandale",
    "elendig",
    "lei av",
    # English
    "ridiculous",
    "outrageous",
    "furious",
    "angry",
    "scam",
    "useless",
    "disgrace",
    "fuck",
    "damn",
    "bullshit",
)
# Words written in capitals that are names, not shouting.
ACRONYMS = frozenset({"KID", "NAV", "GDPR", "SMS", "IBAN", "BIC", "OK", "NOK", "BANKID", "ID", "PDF"})
SHOUTED_WORD_LETTERS = 4


def angry_words(text: str) -> list[str]:
    lowered = text.lower()
    return [stem for stem in ANGRY_STEMS if re.search(rf"\b{re.escape(stem)}", lowered)]


def shouts(text: str) -> bool:
    """A word of four or more letters in capitals that is not an acronym ("ALDRI")."""
    return any(
        word.isupper() and len(word) >= SHOUTED_WORD_LETTERS and word not in ACRONYMS for word in WORD.findall(text)
    )


def is_angry(text: str) -> bool:
    if angry_words(text):
        return True
    milder_signs = [shouts(text), "!" in text]
    return sum(milder_signs) >= 2 or text.count("!") >= 3


class ActionAcknowledgeDispute(Action):
    """One sentence that takes a dispute seriously before anything is asked (angrier when the
    message was angry); the dispute itself is recorded once the debtor is verified."""

    def name(self) -> str:
        return "action_acknowledge_dispute"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        angry = is_angry(tracker.latest_message.get("text") or "")
        dispatcher.utter_message(response="utter_acknowledge_angry_dispute" if angry else "utter_acknowledge_dispute")
        return []
