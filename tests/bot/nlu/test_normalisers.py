"""How debtors' words become entity values: one table per normaliser, read as a specification.

The reference day is fixed: Wednesday 25 November 2026 unless a row says otherwise.
"""

from datetime import date, datetime, timedelta

import pytest

from bot.nlu.normalisers import (
    OSLO,
    parse_amount_ore,
    parse_birth_date,
    parse_date,
    parse_language,
    parse_months,
    parse_number_words,
    parse_phone,
    today_in_oslo,
)

WEDNESDAY = date(2026, 11, 25)
FRIDAY = date(2026, 11, 27)


def test_today_is_the_calendar_day_in_oslo():
    before = datetime.now(OSLO).date()
    today = today_in_oslo()
    assert before <= today <= before + timedelta(days=1)


# --- birth dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, expected",
    [
        ("14.03.1985", date(1985, 3, 14)),
        ("14/3-85", date(1985, 3, 14)),
        ("14-03-1985", date(1985, 3, 14)),
        ("140385", date(1985, 3, 14)),
        ("14031985", date(1985, 3, 14)),
        ("19850314", date(1985, 3, 14)),  # ISO without dashes, when DDMMYYYY is impossible
        ("14. mars 1985", date(1985, 3, 14)),
        ("14 mars 85", date(1985, 3, 14)),
        ("14.mars 1985", date(1985, 3, 14)),
        ("2. november 1992", date(1992, 11, 2)),
        ("2. nov. 1992", date(1992, 11, 2)),
        ("27th of June 1978", date(1978, 6, 27)),
        ("June 27, 1978", date(1978, 6, 27)),
        ("june 27th 1978", date(1978, 6, 27)),
        ("1978-06-27", date(1978, 6, 27)),
        ("30.09.64", date(1964, 9, 30)),
        ("født 14.03.1985", date(1985, 3, 14)),
        ("eg er fødd 14. mars 1985", date(1985, 3, 14)),
        ("fodt 9.1.2001", date(2001, 1, 9)),
        ("f.14.03.85", date(1985, 3, 14)),
    ],
)
def test_birth_dates_in_every_spelling_become_one_date(written, expected):
    assert parse_birth_date(written, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "written, expected",
    [
        ("14.03.85", date(1985, 3, 14)),
        ("14.03.05", date(2005, 3, 14)),  # 2005 is in the past: a 21-year-old
        ("14.03.26", date(2026, 3, 14)),  # earlier this year: still the past
        ("25.11.26", date(2026, 11, 25)),  # today is not the future
        ("26.11.26", date(1926, 11, 26)),  # tomorrow would be the future, so a century back
        ("14.03.27", date(1927, 3, 14)),
        ("290200", date(2000, 2, 29)),
    ],
)
def test_a_two_digit_birth_year_is_the_latest_year_not_in_the_future(written, expected):
    assert parse_birth_date(written, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "written",
    [
        "31.02.1990",  # no 31 February
        "29.02.2023",  # 2023 is not a leap year
        "290201",  # neither 2001 nor 1901 is a leap year
        "14.13.1985",
        "00.03.1985",
        "14.03.2027",  # not born yet
        "14.03.1850",
        "14. mars",  # a birth date needs its year
        "100001",  # a case number is not a date
        "１４.０３.１９８５",  # fullwidth digits are not read at all
        "",
    ],
)
def test_impossible_or_incomplete_birth_dates_give_nothing(written):
    assert parse_birth_date(written, WEDNESDAY) is None


def test_29_february_is_a_birth_date_in_a_leap_year():
    assert parse_birth_date("29.02.2024", WEDNESDAY) == date(2024, 2, 29)


# --- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, ore",
    [
        ("500 kr", 500_00),
        ("500kr", 500_00),
        ("kr 500", 500_00),
        ("kr. 500", 500_00),
        ("kr 1 200,50", 1200_50),
        ("1.200,-", 1200_00),
        ("500,- kr", 500_00),
        ("500.-", 500_00),
        ("1 200.50 NOK", 1200_50),  # space groups thousands, so "." can only be the decimal
        ("300 NOK", 300_00),
        ("1000 kroner", 1000_00),
        ("12,5 kr", 12_50),
        ("0 kr", 0),
        ("1\u00a0200,50", 1200_50),  # no-break space
        ("1\u202f200,50 kr", 1200_50),  # narrow no-break space, as phones type it
        ("1 000 000 kr", 1_000_000_00),
    ],
)
def test_amounts_in_figures_become_ore(written, ore):
    assert parse_amount_ore(written) == ore


@pytest.mark.parametrize(
    "written, ore",
    [
        ("1.234,56", 1234_56),  # Norwegian: "." groups, "," is the decimal
        ("1,234.56", 1234_56),  # English: "," groups, "." is the decimal
        ("1.234.567,89", 1_234_567_89),
        ("1,234,567.89", 1_234_567_89),
        ("1.200", 1200_00),  # a lone separator before three digits groups thousands
        ("1,200", 1200_00),
        ("12.50", 12_50),  # ... before one or two digits it is the decimal
        ("12,50", 12_50),
    ],
)
def test_the_last_separator_before_one_or_two_digits_is_the_decimal(written, ore):
    assert parse_amount_ore(written) == ore


@pytest.mark.parametrize(
    "written, ore",
    [
        ("femhundre kroner", 500_00),
        ("fem hundre kroner", 500_00),
        ("tusen kroner", 1000_00),
        ("to tusen fem hundre", 2500_00),
        ("totusenfemhundre", 2500_00),
        ("tretti tusen", 30_000_00),
        ("2 tusen kr", 2000_00),
        ("atte hundre kr", 800_00),  # åtte without å
        ("twenty-five kroner", 25_00),
        ("a thousand kroner", 1000_00),
    ],
)
def test_amounts_in_words_become_ore(written, ore):
    assert parse_amount_ore(written) == ore


@pytest.mark.parametrize(
    "written",
    [
        "-500",  # a sign is not an offer
        "kr -500",
        "minus 500 kr",
        "$500",  # other currencies are not converted
        "500 USD",
        "€ 500",
        "50 øre",
        "1,2345",  # fractions of an øre
        "1.23.4",
        "12 500 000 000 kr",  # more than a billion kroner
        "tusen takk",
        "kr",
        "",
    ],
)
def test_what_is_not_an_amount_in_kroner_gives_nothing(written):
    assert parse_amount_ore(written) is None


def test_money_is_an_int_never_a_float():
    assert type(parse_amount_ore("1 200,50 kr")) is int


# --- dates relative to today -------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, expected",
    [
        ("den 20.", date(2026, 12, 20)),  # the 20th has passed this month
        ("den 20", date(2026, 12, 20)),
        ("den 25.", date(2026, 11, 25)),  # today counts: the debtor may pay today
        ("den 28.", date(2026, 11, 28)),  # still ahead this month
        ("20. desember", date(2026, 12, 20)),
        ("20 des", date(2026, 12, 20)),
        ("1. desember", date(2026, 12, 1)),
        ("1. mars", date(2027, 3, 1)),  # already past this year
        ("15.01.2027", date(2027, 1, 15)),
        ("15.01.27", date(2027, 1, 15)),  # a two-digit payment year is 20yy
        ("15/1", date(2027, 1, 15)),
        ("15.1.", date(2027, 1, 15)),
        ("29.02", date(2028, 2, 29)),  # the next 29 February
        ("29.02.2024", date(2024, 2, 29)),
        ("2026-12-24", date(2026, 12, 24)),
        ("20th of December", date(2026, 12, 20)),
        ("December 20", date(2026, 12, 20)),
        ("Dec 20th", date(2026, 12, 20)),
    ],
)
def test_calendar_dates_are_the_next_occurrence_on_or_after_today(written, expected):
    assert parse_date(written, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "written, expected",
    [
        ("the 1st", date(2026, 12, 1)),
        ("the 2nd", date(2026, 12, 2)),
        ("3rd", date(2026, 12, 3)),
        ("the 20th", date(2026, 12, 20)),
        ("on the 30th", date(2026, 11, 30)),
    ],
)
def test_english_ordinals_are_days_of_the_month(written, expected):
    assert parse_date(written, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2026, 11, 25), date(2026, 12, 31)),  # November has 30 days
        (date(2027, 4, 10), date(2027, 5, 31)),  # April has 30 days
        (date(2027, 1, 31), date(2027, 1, 31)),  # today is the 31st
        (date(2027, 2, 1), date(2027, 3, 31)),  # February has no 31st at all
    ],
)
def test_den_31_skips_months_without_a_31st(today, expected):
    assert parse_date("den 31.", today) == expected


@pytest.mark.parametrize(
    "written, expected",
    [
        ("i morgen", date(2026, 11, 26)),
        ("imorgen", date(2026, 11, 26)),
        ("i morgon", date(2026, 11, 26)),  # Nynorsk
        ("imorra", date(2026, 11, 26)),  # dialect
        ("tomorrow", date(2026, 11, 26)),
        ("i overmorgen", date(2026, 11, 27)),
        ("i dag", date(2026, 11, 25)),
        ("today", date(2026, 11, 25)),
        ("fredag", date(2026, 11, 27)),
        ("på fredag", date(2026, 11, 27)),
        ("neste fredag", date(2026, 11, 27)),
        ("next Friday", date(2026, 11, 27)),
        ("mandag", date(2026, 11, 30)),
        ("onsdag", date(2026, 12, 2)),  # today is Wednesday: a weekday is never today
        ("lordag", date(2026, 11, 28)),  # lørdag without ø
        ("laurdag", date(2026, 11, 28)),  # Nynorsk
        ("fredag neste uke", date(2026, 12, 4)),  # Friday of next week
        ("neste uke", date(2026, 11, 30)),  # Monday of next week
        ("neste måned", date(2026, 12, 1)),
        ("neste mnd", date(2026, 12, 1)),
        ("next month", date(2026, 12, 1)),
        ("etter nyttår", date(2027, 1, 2)),  # 1 January is a holiday: the 2nd
        ("over nyttar", date(2027, 1, 2)),
        ("after New Year", date(2027, 1, 2)),
        ("om to uker", date(2026, 12, 9)),
        ("om 14 dager", date(2026, 12, 9)),
        ("in a week", date(2026, 12, 2)),
        ("slutten av måneden", date(2026, 11, 30)),
        ("end of the month", date(2026, 11, 30)),
    ],
)
def test_relative_dates_resolve_against_today(written, expected):
    assert parse_date(written, WEDNESDAY) == expected


@pytest.mark.parametrize("written", ["fredag", "neste fredag", "next Friday"])
def test_on_a_friday_friday_means_a_week_later(written):
    assert parse_date(written, FRIDAY) == FRIDAY + timedelta(weeks=1)


def test_neste_maned_in_december_is_january():
    assert parse_date("neste måned", date(2026, 12, 14)) == date(2027, 1, 1)


def test_etter_nyttar_on_new_years_day_is_the_next_day():
    assert parse_date("etter nyttår", date(2027, 1, 1)) == date(2027, 1, 2)


@pytest.mark.parametrize(
    "written",
    [
        "31.02",
        "31.02.2027",
        "29.02.2023",
        "32. desember",
        "den 32.",
        "0.12",
        "15.13",
        "20",  # a bare number is not a day: "den 20." or "20." is
        "1-2",  # "1-2 uker" is a range, not 1 February
        "neste år",
        "sist fredag",  # last Friday is in the past
        "snart",
        "",
    ],
)
def test_invalid_or_vague_dates_give_nothing(written):
    assert parse_date(written, WEDNESDAY) is None


# --- months ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, months",
    [
        ("12 måneder", 12),
        ("12 maneder", 12),
        ("12mnd", 12),
        ("seks mnd", 6),
        ("tolv md", 12),
        ("6 months", 6),
        ("tre månader", 3),  # Nynorsk
        ("et år", 12),
        ("ett år", 12),
        ("a year", 12),
        ("over et år", 12),
        ("et halvt år", 6),
        ("ett halvt år", 6),
        ("half a year", 6),
        ("halvår", 6),
        ("halvannet år", 18),
        ("ett og et halvt år", 18),
        ("1,5 år", 18),
        ("one and a half years", 18),
        ("to år", 24),
        ("2 years", 24),
        ("tjuefire måneder", 24),
        ("ti år", 120),
    ],
)
def test_durations_become_whole_months(written, months):
    assert parse_months(written) == months


@pytest.mark.parametrize(
    "written",
    [
        "12",  # no unit: could be anything
        "0 måneder",
        "11 år",  # more than ten years is no payment plan
        "2,5 måneder",  # not whole months
        "mange måneder",
        "",
    ],
)
def test_what_is_not_a_plan_length_gives_nothing(written):
    assert parse_months(written) is None


# --- number words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words, value",
    [
        (["null"], 0),
        (["en"], 1),
        (["ett"], 1),
        (["ei"], 1),
        (["sju"], 7),
        (["syv"], 7),
        (["åtte"], 8),
        (["atte"], 8),
        (["elleve"], 11),
        (["tolv"], 12),
        (["tjue"], 20),
        (["tjuefem"], 25),
        (["femogtjue"], 25),  # the older order
        (["tretti"], 30),
        (["tredve"], 30),
        (["førti"], 40),
        (["forti"], 40),
        (["åtti"], 80),
        (["atti"], 80),
        (["hundre"], 100),
        (["ett", "hundre"], 100),
        (["hundreogfemti"], 150),
        (["tolv", "hundre"], 1200),
        (["tusen"], 1000),
        (["ettusen"], 1000),
        (["to", "tusen", "fem", "hundre"], 2500),
        (["hundre", "tusen"], 100_000),
        (["ni", "hundre", "og", "nittini", "tusen", "ni", "hundre", "og", "nittini"], 999_999),
        (["2", "tusen"], 2000),
        (["twenty-five"], 25),
        (["a", "hundred"], 100),
        (["one", "hundred", "and", "twenty"], 120),
        (["fifteen", "hundred"], 1500),
    ],
)
def test_number_words_norwegian_and_english(words, value):
    assert parse_number_words(words) == value


@pytest.mark.parametrize(
    "words",
    [
        ["to", "tre"],
        ["a"],
        ["og"],
        ["tusen", "tusen"],
        ["tusen", "takk"],
        ["null", "hundre"],
        ["tusen", "og"],
        [],
    ],
)
def test_malformed_number_words_give_nothing(words):
    assert parse_number_words(words) is None


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, e164",
    [
        ("912 34 567", "+4791234567"),
        ("91234567", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 98765432", "+4798765432"),
        ("+4745512345", "+4745512345"),
        ("22 33 44 55", "+4722334455"),  # a landline is a phone number too
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_numbers_become_e164_with_norway_as_default(written, e164):
    assert parse_phone(written) == e164


@pytest.mark.parametrize("written", ["12345678", "100001", "９１２３４５６７", "tlf", ""])
def test_what_is_not_a_valid_phone_number_gives_nothing(written):
    assert parse_phone(written) is None


# --- language ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, code",
    [
        ("engelsk", "en"),
        ("English", "en"),
        ("in english", "en"),
        ("på engelsk takk", "en"),
        ("norsk", "nb"),
        ("Norwegian", "nb"),
        ("bokmål", "nb"),
        ("bokmal", "nb"),
        ("nynorsk", "nb"),  # we answer Nynorsk writers in Bokmål
        ("fra engelsk til norsk", "nb"),  # the last one asked for
        ("not English, Norwegian please", "nb"),
    ],
)
def test_languages_become_nb_or_en(written, code):
    assert parse_language(written) == code


@pytest.mark.parametrize("written", ["svensk", "not English", "hei", ""])
def test_unsupported_or_negated_languages_give_nothing(written):
    assert parse_language(written) is None
