"""Phone numbers in E.164, the one form the project stores and compares (`phonenumbers` parses)."""

from __future__ import annotations

import phonenumbers


def normalise_phone(value: str) -> str:
    """`value` as E.164 (Norwegian numbers may omit +47), or ValueError."""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
