"""Disputes (innsigelser): the rules for taking an objection to a claim.

Any objection is taken as given, never argued: whether it is well founded is for a person to
decide, and collection out of court should not continue over an objection meanwhile (we did not
verify the exact statutory wording, so this is the project's rule, on the debtor's safe side).
So recording a dispute always stops collection on the case at once, and a caseworker is given
the case.
"""

from __future__ import annotations

from bot.case_system.serializers import redact_national_ids

MAX_REASON_CHARS = 2000


def clean_reason(text: str) -> str:
    """The debtor's own words, trimmed, without identity numbers, at most `MAX_REASON_CHARS`."""
    text = redact_national_ids(" ".join(text.split()))
    return text[:MAX_REASON_CHARS]
