"""Norwegian identifiers: national identity numbers, bank account numbers and KID references.

Shared by the case system, the redactor and the NLU (a pure module: no I/O, no case-system layers).

Error messages never contain the value that was checked: identity numbers are personal data and
must not reach a log line through an exception.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer, kontonr

# A KID (kundeidentifikasjon) is 4 to 25 characters including its check digit, per Mastercard
# Payment Services (formerly Nets), https://www.mastercardpaymentservices.com/norway/utvikler/kid
KID_MIN_LENGTH = 4
KID_MAX_LENGTH = 25
KID_METHODS = ("mod10", "mod11")

_SEPARATORS = re.compile(r"[ .\-\u00a0]")
_ASCII_DIGITS = re.compile(r"[0-9]+")

# Offsets that turn a birth date into the first four digits of special identity numbers.
_D_NUMBER_DAY_OFFSET = 40  # D-nummer: day + 40
_SYNTHETIC_MONTH_OFFSET = 80  # synthetic test numbers (Skatteetaten's Tenor test data): month + 80


class InvalidIdentifier(ValueError):
    """A value that is not a well-formed identifier of the kind asked for."""


def normalise_digits(value: str) -> str:
    """`value` without spaces, dots and dashes; anything else that is not a digit is refused."""
    if not isinstance(value, str):
        raise InvalidIdentifier("identifier must be a string")
    digits = _SEPARATORS.sub("", value.strip())
    # `str.isdigit` would also accept superscripts and non-ASCII digits, so match 0-9 explicitly.
    if not _ASCII_DIGITS.fullmatch(digits):
        raise InvalidIdentifier("identifier must consist of digits")
    return digits


# --- national identity numbers (fødselsnummer, D-nummer, synthetic test numbers) ---------------


# The first control digit (k1) is chosen so that the weighted sum of the first ten digits leaves a
# remainder of 0 mod 11. From 1 January 2032 new fødselsnummer and D-numbers may also leave 1, 2
# or 3 (Skatteetaten, "Nye fødselsnummer og d-nummer fra 2032"), giving more numbers per birth
# date; the second control digit (k2) is unchanged. Numbers issued before then all leave 0, so
# accepting 1 to 3 already now only readies us for them.
K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)  # the nine digits before k1, then k1 itself
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)  # the ten digits before k2, then k2 itself
K1_REMAINDERS_BEFORE_2032 = frozenset({0})
K1_REMAINDERS_FROM_2032 = frozenset({0, 1, 2, 3})


def first_control_remainder(digits: str) -> int:
    """The mod-11 remainder of the weighted sum of an 11-digit number's first ten digits (k1
    included): 0 under the rule before 2032, 0 to 3 for numbers issued from 2032."""
    return sum(weight * int(digit) for weight, digit in zip(K1_WEIGHTS, digits[:10])) % 11


def has_valid_control_digits(digits: str) -> bool:
    """Whether the 11 digits carry valid identity-number control digits under either rule: k1's
    remainder 0 (before 2032) or 1 to 3 (from 2032), and k2's remainder 0 (unchanged)."""
    if len(digits) != 11 or not _ASCII_DIGITS.fullmatch(digits):
        return False
    if first_control_remainder(digits) not in K1_REMAINDERS_FROM_2032:
        return False
    return sum(weight * int(digit) for weight, digit in zip(K2_WEIGHTS, digits)) % 11 == 0


def validate_national_id(value: str, *, allow_synthetic: bool) -> str:
    """The 11 normalised digits of a valid national identity number, or InvalidIdentifier.

    Accepts fødselsnummer and D-numbers (day + 40) with control digits under the rule before 2032
    or the one from 2032 (`has_valid_control_digits`), and a birth date that exists and is not in
    the future. Synthetic test numbers (month + 80) are accepted only when `allow_synthetic` is
    true (demo mode). H-numbers (month + 40) and FH-numbers are not identity numbers from the
    population register and are refused.
    """
    digits = normalise_digits(value)
    if len(digits) != 11:
        raise InvalidIdentifier("national identity number must have 11 digits")
    month_field = int(digits[2:4])
    if month_field > _SYNTHETIC_MONTH_OFFSET:
        if not allow_synthetic:
            raise InvalidIdentifier("synthetic test identity numbers are not accepted here")
        _synthetic_birth_date(digits)  # raises when invalid
        return digits
    if month_field > 12:
        raise InvalidIdentifier("not a fødselsnummer or D-number")
    if not has_valid_control_digits(digits):
        raise InvalidIdentifier("invalid national identity number")
    try:
        # stdnum's own validate knows only the rule before 2032, so only its date logic is used.
        born = fodselsnummer.get_birth_date(digits)  # handles D-numbers (day - 40)
    except ValidationError as error:
        raise InvalidIdentifier("invalid national identity number") from error
    if born > date.today():
        raise InvalidIdentifier("invalid national identity number")
    return digits


def birth_date_of(national_id: str, *, allow_synthetic: bool) -> date:
    """The birth date encoded in a valid national identity number (validates it first)."""
    digits = validate_national_id(national_id, allow_synthetic=allow_synthetic)
    if int(digits[2:4]) > _SYNTHETIC_MONTH_OFFSET:
        return _synthetic_birth_date(digits)
    return fodselsnummer.get_birth_date(digits)  # handles D-numbers (day - 40)


def _synthetic_birth_date(digits: str) -> date:
    """Validate a synthetic number and return its birth date.

    Written here because python-stdnum rejects synthetic numbers (month + 80) as having no valid
    birth date; the control digits follow the same rules as real numbers (either k1 rule), the
    century rules mirror stdnum's.
    """
    if not has_valid_control_digits(digits):
        raise InvalidIdentifier("invalid national identity number")
    day = int(digits[0:2])
    if day > _D_NUMBER_DAY_OFFSET:
        day -= _D_NUMBER_DAY_OFFSET
    month = int(digits[2:4]) - _SYNTHETIC_MONTH_OFFSET
    year = _birth_year(int(digits[4:6]), int(digits[6:9]))
    try:
        born = date(year, month, day)
    except ValueError as error:
        raise InvalidIdentifier("invalid national identity number") from error
    if born > date.today():
        raise InvalidIdentifier("invalid national identity number")
    return born


def _birth_year(two_digit_year: int, individual_number: int) -> int:
    """Four-digit birth year from the individual number's century ranges (as stdnum does)."""
    if individual_number < 500:
        return 1900 + two_digit_year
    if individual_number < 750 and two_digit_year >= 54:
        return 1800 + two_digit_year
    if two_digit_year < 40:
        return 2000 + two_digit_year
    if individual_number >= 900:
        return 1900 + two_digit_year
    raise InvalidIdentifier("invalid national identity number")


# --- bank account numbers (kontonummer) ----------------------------------------------------------


def is_valid_account_number(value: str) -> bool:
    """Whether `value` is a valid 11-digit Norwegian bank account number (mod-11 checked)."""
    try:
        digits = normalise_digits(value)
    except InvalidIdentifier:
        return False
    if len(digits) != 11:
        return False
    try:
        # stdnum also accepts 7-digit postgiro numbers (and strips a leading "0000" to get one).
        return len(kontonr.validate(digits)) == 11
    except ValidationError:
        return False


# --- KID payment references ----------------------------------------------------------------------


def kid_with_check_digit(base: str, method: str = "mod10") -> str:
    """`base` followed by its KID check digit ("mod10" = Luhn, "mod11" = '-' for a check of 10)."""
    digits = normalise_digits(base)
    if not KID_MIN_LENGTH - 1 <= len(digits) <= KID_MAX_LENGTH - 1:
        raise InvalidIdentifier("KID base has the wrong length")
    if method == "mod10":
        return digits + luhn.calc_check_digit(digits)
    if method == "mod11":
        return digits + _kid_mod11_check_digit(digits)
    raise InvalidIdentifier("unknown KID check-digit method")


def is_valid_kid(kid: str) -> bool:
    """Whether `kid` ends in a valid MOD10 (Luhn) or MOD11 check digit and has a valid length.

    Which of the two methods a creditor uses is part of its agreement with the bank, so a KID is
    valid when either method accepts it; '-' as the last character can only be MOD11.
    """
    if not isinstance(kid, str):
        return False
    # Only spaces are tolerated: a dash can be the MOD11 check character itself.
    compact = re.sub(r"[ \u00a0]", "", kid.strip())
    if not KID_MIN_LENGTH <= len(compact) <= KID_MAX_LENGTH:
        return False
    base, check = compact[:-1], compact[-1]
    if not _ASCII_DIGITS.fullmatch(base):
        return False
    if check == "-":
        return _kid_mod11_check_digit(base) == "-"
    if not _ASCII_DIGITS.fullmatch(check):
        return False
    return check in (luhn.calc_check_digit(base), _kid_mod11_check_digit(base))


def _kid_mod11_check_digit(digits: str) -> str:
    """KID MOD11: weights 2..7 repeating from the right; 11 gives '0', 10 gives '-'.

    Own code because stdnum has no KID module and its ISO 7064 MOD 11-2 uses other weights.
    """
    total = sum(int(digit) * (2 + index % 6) for index, digit in enumerate(reversed(digits)))
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "-"
    return str(check)
