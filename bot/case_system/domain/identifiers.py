"""Norwegian identifiers: national identity numbers, bank account numbers and KID references.

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


def validate_national_id(value: str, *, allow_synthetic: bool) -> str:
    """The 11 normalised digits of a valid national identity number, or InvalidIdentifier.

    Accepts fødselsnummer and D-numbers (day + 40). Synthetic test numbers (month + 80) are
    accepted only when `allow_synthetic` is true (demo mode). H-numbers (month + 40) and
    FH-numbers are not identity numbers from the population register and are refused.
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
    try:
        fodselsnummer.validate(digits)
    except ValidationError as error:
        raise InvalidIdentifier("invalid national identity number") from error
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
    birth date; the mod-11 control digits are still stdnum's, the century rules mirror stdnum's.
    """
    if digits[9] != fodselsnummer.calc_check_digit1(digits[:9]):
        raise InvalidIdentifier("invalid national identity number")
    if digits[10] != fodselsnummer.calc_check_digit2(digits[:10]):
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
