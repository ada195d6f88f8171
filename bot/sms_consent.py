"""What an inbound SMS says about consent to be texted: STOP, STOPP, AVSLUTT... or START.

Pure, so that the SMS channel (dialogue process) and the case system (which stores consent) read
a message the same way without either importing the other.
"""

from __future__ import annotations

from typing import Optional

from bot.case_system.contract.enums import ConsentChange

# Keywords are whole messages, compared without case or surrounding punctuation.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopp", "avslutt", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})  # not "yes": that answers questions
# Twilio's Advanced Opt-Out reports what the keyword meant in `OptOutType`.
OPT_OUT_TYPES = {"STOP": ConsentChange.OPT_OUT, "START": ConsentChange.OPT_IN}


def consent_change(body: str, opt_out_type: Optional[str] = None) -> Optional[ConsentChange]:
    """What an inbound message says about consent: opt out, opt in, or nothing.

    >>> consent_change("Stopp.")
    <ConsentChange.OPT_OUT: 'opt_out'>
    >>> consent_change("stopp betalingen min") is None  # a sentence is not a keyword
    True
    """
    if opt_out_type:
        change = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if change:
            return change
    word = body.strip().strip(".!?,;:\"' ").lower()
    if word in OPT_OUT_KEYWORDS:
        return ConsentChange.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return ConsentChange.OPT_IN
    return None
