"""How a debtor who is not verified asks to be reached: a phone number or an e-mail address.

Phone numbers go through bot/phone_numbers.py (E.164; Norwegian numbers may omit +47) and must be
valid numbers, not only possible ones. E-mail addresses are checked for their syntax only (one @,
a local part and a domain with a dot, no spaces): whether the address works is not ours to know.
Neither value is ever logged.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

import phonenumbers

from bot.phone_numbers import normalise_phone

MAX_EMAIL_CHARACTERS = 254  # RFC 5321's limit on a forward path
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9\u00c0-\u024f](?:[A-Za-z0-9\u00c0-\u024f-]{0,61}[A-Za-z0-9\u00c0-\u024f])?\.)+"
    r"[A-Za-z]{2,63}"
)
# A phone number as people write it: digits with spaces, dots, dashes or brackets, maybe a plus.
PHONE_LIKE = re.compile(r"\+?[\d ()./-]{8,20}")


class Contact(NamedTuple):
    kind: str  # "phone" or "email"
    value: str  # E.164, or the address with its domain in lower case


def normalise_email(value: str) -> str:
    """`value` as an e-mail address (domain lower-cased), or ValueError."""
    address = value.strip().rstrip(".")
    if len(address) > MAX_EMAIL_CHARACTERS or not EMAIL.fullmatch(address) or ".." in address:
        raise ValueError("not an e-mail address")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalise_contact_phone(value: str) -> str:
    """`value` as a valid phone number in E.164, or ValueError."""
    normalised = normalise_phone(value)
    if not phonenumbers.is_valid_number(phonenumbers.parse(normalised)):
        raise ValueError("not a valid phone number")
    return normalised


def parse_contact(text: str) -> Optional[Contact]:
    """The phone number or e-mail address in a short message ("ring meg på 912 34 567",
    "kari@example.no"), or None if it holds neither (or an invalid one)."""
    for word in text.replace(",", " ").split():
        if "@" in word:
            try:
                return Contact("email", normalise_email(word.strip("<>()[]\"'")))
            except ValueError:
                return None
    for match in PHONE_LIKE.finditer(text):
        try:
            return Contact("phone", normalise_contact_phone(match.group().strip(" ./-")))
        except ValueError:
            continue
    return None
