"""Properties of the Norwegian normalisers and the redactor, over generated input: no input makes
them raise; what they return is well-formed; a date, an amount or a spoken number written the way
debtors write it comes back as the value it names; identity numbers are always redacted and
account numbers never are."""

from __future__ import annotations

from datetime import date

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.identifiers import has_valid_control_digits, is_valid_account_number
from bot.nlu.normalisers import (
    parse_amount_ore,
    parse_birth_date,
    parse_date,
    parse_months,
    parse_phone,
    spoken_rewrites,
    written_form,
)
from bot.redaction import PLACEHOLDER, redact_text

TODAY = date(2026, 12, 6)
# Anything a debtor can type or a speech recogniser can write: letters, digits, æøå, punctuation,
# other scripts, emoji, controls and lone surrogates.
ANY_TEXT = st.text(max_size=300)
NORWEGIAN_TEXT = st.text(alphabet=st.sampled_from(list("0123456789 abcdefghijklmnopqrstuvwxyzæøå.,-/:kr")), max_size=80)
DIGIT_WORDS = {
    "nb": "null en to tre fire fem seks sju åtte ni",
    "en": "zero one two three four five six seven eight nine",
}


@given(st.one_of(ANY_TEXT, NORWEGIAN_TEXT))
def test_no_text_makes_a_normaliser_raise_and_each_answer_is_well_formed(text: str) -> None:
    amount = parse_amount_ore(text)
    assert amount is None or (isinstance(amount, int) and amount >= 0)
    born = parse_birth_date(text, TODAY)
    assert born is None or date(1900, 1, 1) <= born <= TODAY
    assert parse_date(text, TODAY) is None or isinstance(parse_date(text, TODAY), date)
    months = parse_months(text)
    assert months is None or (isinstance(months, int) and months > 0)
    phone = parse_phone(text)
    assert phone is None or (phone.startswith("+") and phone[1:].isdigit())


@given(st.one_of(ANY_TEXT, NORWEGIAN_TEXT))
def test_spoken_rewrites_are_ordered_non_overlapping_spans_of_the_text(text: str) -> None:
    last_end = 0
    for start, end, written in spoken_rewrites(text):
        assert last_end <= start < end <= len(text)
        assert written.strip()
        last_end = end
    written_form(text)  # and the rewrite itself never raises


@given(
    st.dates(min_value=date(1910, 1, 1), max_value=TODAY),
    st.sampled_from(["{d:02d}.{m:02d}.{y}", "{d}.{m}.{y}", "{y}-{m:02d}-{d:02d}", "{d:02d}/{m:02d}/{y}"]),
)
def test_a_birth_date_written_with_a_four_digit_year_comes_back_as_itself(born: date, shape: str) -> None:
    assert parse_birth_date(shape.format(d=born.day, m=born.month, y=born.year), TODAY) == born


@given(
    st.integers(min_value=1, max_value=99_999_999),
    st.sampled_from(["{kr} kr", "kr {kr}", "{kr},{ore:02d} kr", "{kr},{ore:02d}"]),
)
def test_an_amount_in_kroner_and_ore_comes_back_to_the_ore(ore_total: int, shape: str) -> None:
    kroner, ore = divmod(ore_total, 100)
    if "{ore" not in shape:
        ore_total, ore = kroner * 100, 0
    grouped = f"{kroner:,}".replace(",", " ")
    assert parse_amount_ore(shape.format(kr=grouped, ore=ore)) == ore_total


@given(st.text(alphabet="0123456789", min_size=6, max_size=8), st.sampled_from(sorted(DIGIT_WORDS)))
def test_a_case_number_said_digit_by_digit_is_written_out(digits: str, language: str) -> None:
    words = DIGIT_WORDS[language].split()
    spoken = " ".join(words[int(d)] for d in digits)
    assert digits in written_form(spoken).replace(" ", "")


def _with_control_digits(first_nine: str) -> str | None:
    k1 = 11 - sum(w * int(d) for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), first_nine)) % 11
    k1 = 0 if k1 == 11 else k1
    k2 = 11 - sum(w * int(d) for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), first_nine + str(k1))) % 11
    k2 = 0 if k2 == 11 else k2
    return None if 10 in (k1, k2) else f"{first_nine}{k1}{k2}"


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
    st.sampled_from(["", "d", "syn"]),
)
def test_every_valid_identity_number_is_redacted_however_it_is_spaced(born: date, individual: int, kind: str) -> None:
    day = born.day + (40 if kind == "d" else 0)
    month = born.month + (80 if kind == "syn" else 0)
    # The individual number names the century (000-499 in the 1900s, 500-999 from 2000).
    individual = individual % 500 + (500 if born.year >= 2000 else 0)
    number = _with_control_digits(f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}")
    if number is None:
        return  # no valid control digits exist for this birth date and individual number
    for shown in (number, f"{number[:6]} {number[6:]}"):
        redacted = redact_text(f"Mitt fødselsnummer er {shown}, takk.")
        assert number not in redacted.replace(" ", "") and PLACEHOLDER in redacted


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_account_numbers_that_are_not_identity_numbers_are_kept(first_ten: str) -> None:
    check = 11 - sum(w * int(d) for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), first_ten)) % 11
    if check == 10:
        return
    account = first_ten + str(0 if check == 11 else check)
    assume(is_valid_account_number(account))  # python-stdnum's rules beyond mod 11 (e.g. not all zeros)
    text = f"Betal til kontonummer {account[:4]}.{account[4:6]}.{account[6:]}"
    redacted = redact_text(text)
    if not has_valid_control_digits(account):
        assert redacted == text
