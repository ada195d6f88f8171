"""Money and dates as a Norwegian or English reader expects them. Money never passes through float."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal

LOCALES = {"nb": "nb_NO", "en": "en_GB"}
OSLO = ZoneInfo("Europe/Oslo")
# A time today, or a weekday, date and time on another day (as the debtor reads it in Norway).
MOMENT_FORMATS = {
    "nb": ("'kl.' HH.mm", "EEEE d. MMMM 'kl.' HH.mm"),
    "en": ("'at' HH:mm", "EEEE d MMMM 'at' HH:mm"),
}


def money(amount: str | Decimal, language: str) -> str:
    """'2450.00' -> '2 450,00 kr' (nb) or 'NOK 2,450.00' (en)."""
    if language == "en":
        return format_currency(Decimal(amount), "NOK", format="¤\u00a0#,##0.00", locale="en_GB", currency_digits=False)
    return format_currency(Decimal(amount), "NOK", locale=LOCALES[language])


def day(value: str | date, language: str) -> str:
    """'2026-08-15' -> '15. august 2026' (nb) or '15 August 2026' (en)."""
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return babel_format_date(parsed, format="long", locale=LOCALES[language])


def percent(value: str | Decimal, language: str) -> str:
    return format_decimal(Decimal(value), format="0.00", locale=LOCALES[language])


def moment(value: datetime, language: str, *, now: datetime) -> str:
    """A time of day in Oslo: 'kl. 14.15' today, 'mandag 7. desember kl. 08.00' on another day
    ('at 14:15' / 'Monday 7 December at 08:00' in English)."""
    local, today = value.astimezone(OSLO), now.astimezone(OSLO).date()
    same_day, other_day = MOMENT_FORMATS[language]
    return babel_format_datetime(
        local, same_day if local.date() == today else other_day, tzinfo=OSLO, locale=LOCALES[language]
    )


# A list said in one message: a bulleted list on the web page (which keeps line breaks), a compact
# run on SMS (every character costs) and on the phone (read aloud as sentences).
LIST_FORMS = {"sms": ("; ", " "), "voice": (". ", " ")}
WEB_LIST = ("\n• ", "\n• ")  # (between items, before the first)


def as_list(items: list[str], channel: str) -> str:
    """`items` as one block of text to follow a lead-in sentence, in the channel's form."""
    if not items:
        return ""
    between, first = LIST_FORMS.get(channel, WEB_LIST)
    if channel in LIST_FORMS:
        items = [item.rstrip(".") for item in items]
    return first + between.join(items)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(domain: dict[str, Any], response: str, language: str, **values: Any) -> str:
    """The text of a domain response in `language` (the variation conditioned on language `en`,
    or the unconditioned one for Bokmål), filled with `values`: for a line inside a longer message,
    so that the words stay in the domain."""
    variations = (domain.get("responses") or {})[response]
    for variation in variations:
        conditions = variation.get("condition") or []
        wants_en = any(c.get("name") == "language" and c.get("value") == "en" for c in conditions)
        if wants_en == (language == "en") and not variation.get("channel"):
            return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), variation["text"])
    raise KeyError(f"{response} has no {language} variation")
