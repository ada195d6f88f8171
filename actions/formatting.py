"""Money and dates as a Norwegian or English reader expects them. Money never passes through float."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal

LOCALES = {"nb": "nb_NO", "en": "en_GB"}


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
