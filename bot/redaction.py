"""Removes national identity numbers from anything about to be stored or logged.

Any run of 11 digits (optionally written 6 + 5) is treated as an identity number: redacting a
harmless number is a far smaller harm than storing one real fødselsnummer.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Pattern

NATIONAL_ID_PATTERN = re.compile(r"(?<!\d)\d{6}[ \u00a0.-]?\d{5}(?!\d)")
PLACEHOLDER = "[fødselsnummer fjernet]"


def redact_text(text: str, patterns: Iterable[Pattern[str]] = (NATIONAL_ID_PATTERN,)) -> str:
    for pattern in patterns:
        text = pattern.sub(PLACEHOLDER, text)
    return text


def redact(value: Any, patterns: Iterable[Pattern[str]] = (NATIONAL_ID_PATTERN,)) -> Any:
    """A copy of `value` (JSON-like data) with every matching string part replaced."""
    patterns = tuple(patterns)
    if isinstance(value, str):
        return redact_text(value, patterns)
    if isinstance(value, dict):
        return {key: redact(item, patterns) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, patterns) for item in value]
    return value
