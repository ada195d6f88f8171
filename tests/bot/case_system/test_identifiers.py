"""National identity numbers, bank account numbers and KID references."""

import random
from datetime import date, timedelta

import pytest
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer

from bot.identifiers import (
    InvalidIdentifier,
    birth_date_of,
    is_valid_account_number,
    is_valid_kid,
    kid_with_check_digit,
    normalise_digits,
    validate_national_id,
)

DEMO_DEBTORS = {  # ARCHITECTURE.md demo data: synthetic numbers, month + 80
    "14838540024": date(1985, 3, 14),
    "02919230056": date(1992, 11, 2),
    "27867820081": date(1978, 6, 27),
    "09810155180": date(2001, 1, 9),
    "30896410004": date(1964, 9, 30),
}


def with_check_digits(first_nine: str) -> str:
    """Append both mod-11 control digits (computed with stdnum, the reference implementation)."""
    first = fodselsnummer.calc_check_digit1(first_nine)
    return first_nine + first + fodselsnummer.calc_check_digit2(first_nine + first)


# --- normalise_digits ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["14838540024", "148385 40024", " 14.83.85-400 24 ", "148385\u00a040024"])
def test_spaces_dots_and_dashes_are_stripped(raw):
    assert normalise_digits(raw) == "14838540024"


@pytest.mark.parametrize("raw", ["", "   ", "1483854002a", "14838540024/", "١٤٨٣", "²³"])
def test_anything_else_is_refused(raw):
    with pytest.raises(InvalidIdentifier):
        normalise_digits(raw)


def test_error_messages_never_echo_the_number():
    with pytest.raises(InvalidIdentifier) as caught:
        validate_national_id("14838540025", allow_synthetic=True)
    assert "1483854002" not in str(caught.value)


# --- national identity numbers ------------------------------------------------------------------


@pytest.mark.parametrize("national_id, born", DEMO_DEBTORS.items())
def test_demo_numbers_pass_both_control_digits_and_give_their_birth_dates(national_id, born):
    assert validate_national_id(national_id, allow_synthetic=True) == national_id
    assert birth_date_of(national_id, allow_synthetic=True) == born


@pytest.mark.parametrize("national_id", DEMO_DEBTORS)
def test_synthetic_numbers_are_refused_outside_demo_mode(national_id):
    with pytest.raises(InvalidIdentifier):
        validate_national_id(national_id, allow_synthetic=False)
    with pytest.raises(InvalidIdentifier):
        birth_date_of(national_id, allow_synthetic=False)


@pytest.mark.parametrize("broken", ["14838540025", "14838540014", "14838540124"])
def test_synthetic_number_with_a_wrong_control_digit_is_refused(broken):
    with pytest.raises(InvalidIdentifier):
        validate_national_id(broken, allow_synthetic=True)


def test_synthetic_d_number_gives_day_minus_40_and_month_minus_80():
    synthetic_d_number = with_check_digits("548385400")  # 14.03.85, individual number 400
    assert birth_date_of(synthetic_d_number, allow_synthetic=True) == date(1985, 3, 14)


def test_fodselsnummer_accepted_with_or_without_demo_mode():
    # python-stdnum's documented example: born 15 October 1986, individual number 950.
    for allow_synthetic in (False, True):
        assert validate_national_id("151086 95088", allow_synthetic=allow_synthetic) == ("15108695088")
        assert birth_date_of("15108695088", allow_synthetic=allow_synthetic) == date(1986, 10, 15)


def test_d_number_gives_day_minus_40():
    d_number = with_check_digits("551086950")
    assert d_number == "55108695071"
    assert birth_date_of(d_number, allow_synthetic=False) == date(1986, 10, 15)


@pytest.mark.parametrize(
    "national_id",
    [
        "15108695077",  # stdnum's documented bad checksum
        "1510869508",  # 10 digits
        "151086950880",  # 12 digits
        "15508695060",  # H-number (month + 40): valid for stdnum, not a population-register id
        "31028695088",  # 31 February
    ],
)
def test_invalid_national_ids_are_refused(national_id):
    with pytest.raises(InvalidIdentifier):
        validate_national_id(national_id, allow_synthetic=True)


def test_number_born_in_the_future_is_refused():
    day = date.today() + timedelta(days=1)
    while True:  # the first future day whose base has valid control digits (none is 10)
        candidate = with_check_digits(f"{day.day:02d}{day.month + 80:02d}{day.year % 100:02d}999")
        if len(candidate) == 11:
            break
        day += timedelta(days=1)
    with pytest.raises(InvalidIdentifier):
        validate_national_id(candidate, allow_synthetic=True)


def test_synthetic_century_rules_agree_with_stdnum_for_regular_numbers():
    """Our own century logic (synthetic numbers) must match stdnum's on the same digits.

    For many random birth dates and individual numbers we build a regular fødselsnummer and its
    synthetic twin (month + 80, control digits recomputed) and compare the birth dates.
    """
    generator = random.Random(20260401)
    compared = 0
    while compared < 500:
        born = date(1854, 1, 1) + timedelta(days=generator.randrange(0, 185 * 365))
        if born > date.today():
            continue
        individual = generator.randrange(0, 1000)
        stem = f"{born.day:02d}{{month:02d}}{born.year % 100:02d}{individual:03d}"
        regular = with_check_digits(stem.format(month=born.month))
        synthetic = with_check_digits(stem.format(month=born.month + 80))
        if len(regular) != 11 or len(synthetic) != 11:
            continue
        try:
            expected = fodselsnummer.get_birth_date(regular)
        except ValidationError:  # century not determined by stdnum: ours must refuse too
            with pytest.raises(InvalidIdentifier):
                birth_date_of(synthetic, allow_synthetic=True)
        else:
            if expected > date.today():
                continue
            assert birth_date_of(synthetic, allow_synthetic=True) == expected
            assert birth_date_of(regular, allow_synthetic=False) == expected
        compared += 1


# --- bank account numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "account",
    ["15032080119", "1503.20.80119", "1503 20 80119", "86011117947"],  # agency's; stdnum's example
)
def test_valid_account_numbers(account):
    assert is_valid_account_number(account)


@pytest.mark.parametrize(
    "account",
    ["15032080118", "1503208011", "150320801190", "1234567", "0000123456", "abc", ""],
)
def test_invalid_account_numbers(account):
    assert not is_valid_account_number(account)


# --- KID ----------------------------------------------------------------------------------------


def test_kid_mod10_is_luhn():
    """Luhn on 123456789: doubling every second digit from the right gives
    9→18→9, 8, 7→14→5, 6, 5→10→1, 4, 3→6, 2, 1→2: sum 9+8+5+6+1+4+6+2+2 = 43, check = 7."""
    assert kid_with_check_digit("123456789") == "1234567897"
    assert kid_with_check_digit("123456789", method="mod10") == "1234567897"


def test_kid_mod11_weights_two_to_seven_from_the_right():
    """123456789, weights 2,3,4,5,6,7,2,3,4 from the right:
    18 + 24 + 28 + 30 + 30 + 28 + 6 + 6 + 4 = 174; 174 mod 11 = 9; check = 11 - 9 = 2."""
    assert kid_with_check_digit("123456789", method="mod11") == "1234567892"


def test_kid_mod11_check_of_10_is_a_dash_and_11_is_zero():
    """006: 6×2 = 12, 12 mod 11 = 1, 11 - 1 = 10 → '-'.
    0031: 1×2 + 3×3 = 11, 11 mod 11 = 0, 11 - 0 = 11 → '0'."""
    assert kid_with_check_digit("006", method="mod11") == "006-"
    assert kid_with_check_digit("0031", method="mod11") == "00310"


@pytest.mark.parametrize("kid", ["1234567897", "1234567892", "006-", "00310", "1234 5678 97"])
def test_valid_kids(kid):
    assert is_valid_kid(kid)


@pytest.mark.parametrize(
    "kid",
    [
        "1234567898",  # neither MOD10 nor MOD11
        "1234567-",  # MOD11 of 1234567 is not 10
        "007",  # three characters: below the minimum length of 4
        "1" * 26,  # above the maximum length of 25
        "12a45678",
        "",
    ],
)
def test_invalid_kids(kid):
    assert not is_valid_kid(kid)


def test_kid_rejects_unknown_method_and_bad_lengths():
    with pytest.raises(InvalidIdentifier):
        kid_with_check_digit("12345", method="mod97")
    with pytest.raises(InvalidIdentifier):
        kid_with_check_digit("12")  # would give a 3-character KID
    with pytest.raises(InvalidIdentifier):
        kid_with_check_digit("1" * 25)  # would give a 26-character KID
