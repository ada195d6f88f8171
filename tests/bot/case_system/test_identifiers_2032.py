"""Identity numbers from 2032 (Skatteetaten, "Nye fødselsnummer og d-nummer fra 2032"): the first
control digit's weighted remainder may be 0, 1, 2 or 3; the second control digit is unchanged.

Weights for k1: 3 7 6 1 8 9 4 5 2 over the nine digits, then k1 itself with weight 1.
Worked example, born 15 March 1985, individual number 123 (digits 150385 123):
3·1 + 7·5 + 6·0 + 1·3 + 8·8 + 9·5 + 4·1 + 5·2 + 2·3 = 170, and 170 mod 11 = 5.
- Before 2032: k1 = 6 (170 + 6 = 176 = 16 · 11, remainder 0); k2 = 3 → 15038512363.
- From 2032:   k1 = 7 gives remainder 1 (177 mod 11); k2 = 1 → 15038512371.
               k1 = 9 gives remainder 3 (179 mod 11); k2 = 8 → 15038512398.
- Never:       remainder 4 and up, e.g. 01010050096 (k1 = 9: 28 + 9 = 37, 37 mod 11 = 4).
"""

from datetime import date

import pytest
from stdnum.no import fodselsnummer

from bot.identifiers import (
    InvalidIdentifier,
    birth_date_of,
    first_control_remainder,
    has_valid_control_digits,
    validate_national_id,
)


def test_the_rule_before_2032_still_holds():
    assert first_control_remainder("15038512363") == 0
    assert validate_national_id("15038512363", allow_synthetic=False) == "15038512363"
    assert birth_date_of("150385 12363", allow_synthetic=False) == date(1985, 3, 15)


@pytest.mark.parametrize(("number", "remainder"), [("15038512371", 1), ("15038512398", 3), ("01010050061", 1)])
def test_numbers_from_2032_with_remainder_one_to_three_are_accepted(number, remainder):
    assert first_control_remainder(number) == remainder
    assert not fodselsnummer.is_valid(number)  # the library knows only the old rule
    assert validate_national_id(number, allow_synthetic=False) == number


def test_a_d_number_from_2032_is_accepted():
    """D-number for 1 January 2000 (day + 40 = 41), remainder 1: 41010050055."""
    assert first_control_remainder("41010050055") == 1
    assert birth_date_of("41010050055", allow_synthetic=False) == date(2000, 1, 1)


def test_a_synthetic_number_from_2032_is_accepted_in_demo_mode_only():
    """Kari's synthetic number 14838540024 has remainder 0; with k1 = 3 (remainder 1) and k2 = 2 it
    is 14838540032, a number of the 2032 kind for the same birth date."""
    assert first_control_remainder("14838540032") == 1
    assert birth_date_of("14838540032", allow_synthetic=True) == date(1985, 3, 14)
    with pytest.raises(InvalidIdentifier):
        validate_national_id("14838540032", allow_synthetic=False)


@pytest.mark.parametrize(
    "number",
    [
        "01010050096",  # k1 remainder 4: valid under neither rule, although k2 fits
        "15038512372",  # remainder 1, but k2 wrong (the second rule is unchanged)
        "15038512364",  # old-rule number with a wrong k2
        "14838540067",  # synthetic, remainder 4
        "32038512371",  # no 32nd of March
        "15132812345",  # month 13
    ],
)
def test_invalid_numbers_are_still_rejected(number):
    with pytest.raises(InvalidIdentifier):
        validate_national_id(number, allow_synthetic=True)


def test_control_digits_alone():
    assert has_valid_control_digits("15038512363")
    assert has_valid_control_digits("15038512371")
    assert not has_valid_control_digits("01010050096")
    assert not has_valid_control_digits("1503851236")  # ten digits
