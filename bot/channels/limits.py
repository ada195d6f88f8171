"""How much a debtor's single message may hold, the same on every channel.

Longer messages are answered with `utter_message_too_long` at the channel's edge and never reach
NLU: spaCy refuses texts of a million characters, and a long text makes every log line and
tracker event that carries it heavy. 2,000 characters is about a page, far more than a debtor's
question needs; Twilio caps an inbound SMS at 1,600 characters anyway.
"""

from __future__ import annotations

MAX_MESSAGE_CHARACTERS = 2000
TOO_LONG_RESPONSE = "utter_message_too_long"


def too_long(text: str) -> bool:
    return len(text) > MAX_MESSAGE_CHARACTERS
