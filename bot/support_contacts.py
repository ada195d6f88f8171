"""Free help for debtors in difficulty: debt advice and crisis contacts, each with its source,
and the check for words that mean a debtor may be in crisis (support_contacts.yml beside this file).

Pure (a data file and string matching), so the action server uses it without the case system."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PATH = Path(__file__).resolve().parent / "support_contacts.yml"
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})


@dataclass(frozen=True)
class SupportContact:
    key: str
    name: dict[str, str]
    phone: str
    source: str
    hours: dict[str, str] | None = None


@lru_cache(maxsize=1)
def _data() -> dict:
    with open(PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _contacts(group: str) -> tuple[SupportContact, ...]:
    return tuple(
        SupportContact(
            key=item["key"], name=item["name"], phone=item["phone"], source=item["source"], hours=item.get("hours")
        )
        for item in _data()[group]
    )


def debt_advice() -> tuple[SupportContact, ...]:
    return _contacts("debt_advice")


def crisis_contacts() -> tuple[SupportContact, ...]:
    return _contacts("crisis")


def phone_of(key: str) -> str:
    """The sourced number of one contact (names and wording live in the domain's responses)."""
    return next(contact.phone for contact in (*debt_advice(), *crisis_contacts()) if contact.key == key)


def _fold(text: str) -> str:
    return " ".join(text.lower().translate(_FOLD).replace("’", "'").split())


def mentions_crisis(text: str) -> bool:
    """Whether `text` contains a crisis phrase (with or without æøå)."""
    folded = _fold(text or "")
    return any(_fold(phrase) in folded for phrase in _data()["crisis_phrases"])
