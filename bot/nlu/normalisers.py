"""Turn what debtors write into the values our entities carry (contract: ARCHITECTURE.md).

Pure functions over strings and dates: no Rasa, no spaCy, no clock except `today_in_oslo`.
Each parser takes one candidate phrase (the span an extractor found, or a whole short answer),
accepts Bokmål, Nynorsk, dialect spellings, text without æøå and English, and returns the
normalised value or ``None`` when the phrase is not exactly one valid value of its kind.

Values: birth dates and dates as `datetime.date` (ISO when serialised), money as integer øre
(never float), months as int, phone numbers as E.164 strings, languages as "nb" or "en".

Rules a reader should know (each is pinned by a test in tests/bot/nlu/test_normalisers.py):
- A year-less date ("20. desember", "15/1", "den 20.") is the next occurrence on or after
  `today`; a month without that day is skipped ("den 31." in November is 31 December).
- A weekday ("fredag", "neste fredag", "next Friday") is the first such day strictly after
  `today`: on a Friday, "fredag" and "neste fredag" both mean a week later (the debtor would have
  said "i dag"). "fredag neste uke" is the Friday of next ISO week.
- "etter nyttår" is 2 January of the coming year (1 January is a public holiday; we do not look
  up banking days here), "neste måned" the 1st of next month, "neste uke" Monday next week.
- A two-digit payment year is 20yy. A two-digit birth year is 20yy unless that date is still in
  the future, then 19yy. Birth dates in the future or before 1900 are rejected.
- Money: when both "." and "," appear, the last one is the decimal separator; a single
  separator followed by exactly three digits groups thousands ("1.200", "1,200" → 1 200 kr);
  followed by one or two digits it is the decimal separator ("12,50"). Spaces group thousands.
  Foreign currencies, negative amounts and fractions of an øre give ``None``.
- Months: 1 to 120 (a payment plan longer than ten years is not a plan); years count as 12.
- Spoken numbers and dates (tests/bot/nlu/test_spoken_numbers.py): three or more digits said one
  by one in one language are a number; a case-number-sized number in words only when it is the
  answer or a case word announces it; an ordinal day only next to a month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import get_day_names, get_month_names

OSLO = ZoneInfo("Europe/Oslo")

MAX_PLAN_MONTHS = 120
MAX_NUMBER_WORDS_VALUE = 999_999
_MAX_KRONER_DIGITS = 9  # a billion kroner is not a debtor's answer; keeps int() bounded


def today_in_oslo() -> date:
    """The calendar date in Norway now: the reference for relative dates."""
    return datetime.now(OSLO).date()


# --- text folding ------------------------------------------------------------------------------

# Debtors type on phones and foreign keyboards: æøå may be missing (ae/o/a) or Swedish (ä/ö).
_FOLD = str.maketrans(
    {
        "æ": "ae",
        "ø": "o",
        "å": "a",
        "ä": "ae",
        "ö": "o",
        "é": "e",
        "è": "e",
        "ê": "e",
        "ó": "o",
        "ò": "o",
        "ô": "o",
        "ü": "u",
        "á": "a",
        "à": "a",
    }
)
# Every Unicode space (NBSP U+00A0, narrow NBSP U+202F, thin space, ...) is a plain space here;
# typographic dashes and the minus sign are a hyphen; zero-width characters vanish.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212"


def fold(text: str) -> str:
    """Lower-case and spell æøå (and Swedish ä/ö, accents) the way keyboards without them do."""
    return text.lower().translate(_FOLD)


def _normalise_chars(text: str) -> str:
    out = []
    for char in text:
        if char in _ZERO_WIDTH:
            continue
        if char.isspace():
            out.append(" ")
        elif char in _DASHES:
            out.append("-")
        else:
            out.append(char)
    return "".join(out)


# Identifiers and units glued to words ("saksnr.100001", "500kr", "12mnd", "20.des") are split,
# but English ordinals ("27th", "1st") stay whole.
GLUE_BOUNDARY = re.compile(
    r"(?<=[^\W\d_])(?=[0-9])"
    r"|(?<=[0-9])(?=[^\W\d_])(?!(?:st|nd|rd|th)(?![^\W\d_]))"
    r"|(?<=[^\W\d_][.:#])(?=[0-9])"
    r"|(?<=#)(?=[0-9])"
    r"|(?<=[0-9]\.)(?=[^\W\d_])"
)


def _clean(text: str) -> str:
    folded = fold(_normalise_chars(text))
    return re.sub(r" +", " ", GLUE_BOUNDARY.sub(" ", folded)).strip()


def _strip_words(text: str, pattern: str) -> tuple[str, bool]:
    """Remove leading filler words matching `pattern`; report whether any were removed."""
    stripped = re.sub(rf"^(?:(?:{pattern})(?:\s+|(?<=[.:])|$))+", "", text)
    return stripped.strip(" ,:"), stripped != text


# --- vocabularies (folded) ---------------------------------------------------------------------


def _babel_months() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in ("nb", "nn", "en"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    names[fold(name).rstrip(".")] = number
    names.update({"sept": 9, "febr": 2, "aug": 8})
    return names


def _babel_weekdays() -> dict[str, int]:
    # Only full names: abbreviations collide with ordinary words ("man", "to", "on", "sat").
    names = {
        fold(name): number
        for locale in ("nb", "nn", "en")
        for number, name in get_day_names("wide", "format", locale).items()
    }
    names.update({"loerdag": 5, "soendag": 6, "tysdag": 1, "maandag": 0})
    return names


MONTH_NUMBERS: dict[str, int] = _babel_months()
WEEKDAY_NUMBERS: dict[str, int] = _babel_weekdays()

# Number words 0-999 999. Nynorsk and dialect forms are listed; folding covers missing æøå.
_NORWEGIAN_NUMBERS = {
    "null": 0,
    "en": 1,
    "ett": 1,
    "et": 1,
    "ei": 1,
    "ein": 1,
    "eitt": 1,
    "eit": 1,
    "to": 2,
    "tvo": 2,
    "tre": 3,
    "fire": 4,
    "fem": 5,
    "seks": 6,
    "sju": 7,
    "syv": 7,
    "atte": 8,
    "aatte": 8,
    "ni": 9,
    "ti": 10,
    "elleve": 11,
    "tolv": 12,
    "tretten": 13,
    "fjorten": 14,
    "femten": 15,
    "seksten": 16,
    "sytten": 17,
    "atten": 18,
    "nitten": 19,
    "tjue": 20,
    "tjuge": 20,
    "tyve": 20,
    "tretti": 30,
    "tredve": 30,
    "forti": 40,
    "foerti": 40,
    "fyrti": 40,
    "femti": 50,
    "seksti": 60,
    "sytti": 70,
    "sotti": 70,
    "atti": 80,
    "aatti": 80,
    "nitti": 90,
    "hundre": 100,
    "tusen": 1000,
}
_ENGLISH_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
}
_CONNECTORS = {"og", "and"}
_ENGLISH_ARTICLE = "a"  # one, but only as "a hundred", "a thousand"

NUMBER_WORDS: frozenset[str] = frozenset({*_NORWEGIAN_NUMBERS, *_ENGLISH_NUMBERS, *_CONNECTORS, _ENGLISH_ARTICLE})
# One token made of number words: "femhundre", "totusenfemhundre", "tjue-fem", "twenty-five".
# Length-bounded so the alternation cannot backtrack without end on a long token.
NUMBER_WORD_TOKEN = re.compile(
    r"^(?=.{1,40}$)(?:%s|-)+$"
    % "|".join(sorted({*_NORWEGIAN_NUMBERS, *_ENGLISH_NUMBERS, *_CONNECTORS}, key=len, reverse=True))
)

MONTH_UNITS = frozenset(
    {
        "maned",
        "maneder",
        "maaned",
        "maaneder",
        "manad",
        "manader",
        "manadar",
        "mnd",
        "mnds",
        "mndr",
        "md",
        "mdr",
        "month",
        "months",
        "mo",
        "mos",
        "mth",
        "mths",
    }
)
YEAR_UNITS = frozenset({"ar", "aar", "year", "years", "yr", "yrs"})
HALF_WORDS = frozenset({"halv", "halvt", "half"})
ONE_AND_A_HALF_WORDS = frozenset({"halvannen", "halvannet", "halvanna", "halvanen", "halvannan"})
CURRENCY_WORDS = frozenset({"kr", "kr.", "kroner", "krone", "kronar", "nok", "nkr", "kr,-"})
FOREIGN_CURRENCY = frozenset(
    {
        "$",
        "€",
        "£",
        "¥",
        "usd",
        "eur",
        "euro",
        "euros",
        "dollar",
        "dollars",
        "sek",
        "dkk",
        "gbp",
        "pund",
        "pound",
        "pounds",
    }
)
LANGUAGE_CODES: dict[str, str] = {
    **dict.fromkeys(
        ["engelsk", "english", "englisch", "inglish", "engelska", "engelskt", "englsh", "engilsh", "engelks", "enlish"],
        "en",
    ),
    **dict.fromkeys(
        ["norsk", "norwegian", "bokmal", "bokmaal", "nynorsk", "norks", "norweigian", "norwegain", "norsk-bokmal"], "nb"
    ),
}
_NEGATIONS = frozenset({"ikke", "ikkje", "not", "no"})

_WORD = r"[^\W\d_]+"
_ORDINAL = r"(?:\.|st|nd|rd|th)"


# --- number words ------------------------------------------------------------------------------


def _segment(word: str) -> list[tuple[str, int]] | None:
    """Split a written number into (kind, value) pieces; compounds use the fewest pieces."""
    if re.fullmatch(r"[0-9]{1,6}", word):
        return [("digits", int(word))]
    if word in _CONNECTORS:
        return [("and", 0)]
    if word == _ENGLISH_ARTICLE:
        return [("a", 1)]
    if word in _ENGLISH_NUMBERS:
        return [_kind(_ENGLISH_NUMBERS[word])]
    if len(word) > 40:
        return None
    pieces = {**_NORWEGIAN_NUMBERS, "og": -1}
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 7), end):
            head, piece = best[start], word[start:end]
            if head is not None and piece in pieces:
                if best[end] is None or len(head) + 1 < len(best[end]):
                    best[end] = head + [piece]
    if best[-1] is None:
        return None
    return [("and", 0) if p == "og" else _kind(_NORWEGIAN_NUMBERS[p]) for p in best[-1]]


def _kind(value: int) -> tuple[str, int]:
    if value == 1000:
        return ("thousand", value)
    if value == 100:
        return ("hundred", value)
    if value >= 20:
        return ("tens", value)
    if value >= 10:
        return ("teen", value)
    return ("unit", value)


def _evaluate(items: list[tuple[str, int]]) -> int | None:
    if not items or items[0][0] == "and" or items[-1][0] == "and":
        return None
    if any(a[0] == "and" and b[0] == "and" for a, b in zip(items, items[1:])):
        return None
    items = [item for item in items if item[0] != "and"]
    if len(items) == 1 and items[0][0] == "digits":
        return items[0][1]
    if any(kind in ("unit", "digits") and value == 0 for kind, value in items):
        return 0 if items == [("unit", 0)] else None
    n = len(items)

    def below_hundred(i: int) -> tuple[int, int] | None:
        if i >= n:
            return None
        kind, value = items[i]
        following = items[i + 1] if i + 1 < n else ("", 0)
        if kind == "a":
            return (1, i + 1) if following[0] in ("hundred", "thousand") else None
        if kind == "tens":
            if following[0] == "unit":  # tjuefem, twenty-five
                return value + following[1], i + 2
            return value, i + 1
        if kind == "unit":
            if following[0] == "tens":  # femogtjue (older Norwegian order)
                return value + following[1], i + 2
            return value, i + 1
        if kind == "teen":
            return value, i + 1
        return None

    def below_thousand(i: int) -> tuple[int, int] | None:
        if i < n and items[i][0] == "digits":
            return (items[i][1], i + 1) if items[i][1] < 1000 else None
        if i < n and items[i][0] == "hundred":
            multiplier, j = 1, i
        else:
            head = below_hundred(i)
            if head is None:
                return None
            multiplier, j = head
            if j >= n or items[j][0] != "hundred":
                return head
        value, j = multiplier * 100, j + 1
        tail = below_hundred(j)
        if tail is not None:
            value, j = value + tail[0], tail[1]
        return value, j

    head = below_thousand(0)
    value, i = head if head is not None else (None, 0)
    if i < n and items[i][0] == "thousand":
        value, i = (value if value is not None else 1) * 1000, i + 1
        tail = below_thousand(i)
        if tail is not None:
            value, i = value + tail[0], tail[1]
    if value is None or i != n or value > MAX_NUMBER_WORDS_VALUE:
        return None
    return value


def parse_number_words(tokens: list[str]) -> int | None:
    """The value of a number written in words, Norwegian or English, 0 to 999 999.

    `tokens` are words as typed: ["to", "tusen", "fem", "hundre"], ["femhundre"],
    ["twenty-five"], ["a", "thousand"], ["2", "tusen"]. Anything that is not a well-formed
    number ("to tre", "tusen takk", "a") gives ``None``.
    """
    items: list[tuple[str, int]] = []
    for token in tokens:
        for part in fold(token).strip(".,").split("-"):
            if not part:
                continue
            pieces = _segment(part)
            if pieces is None:
                return None
            items.extend(pieces)
    return _evaluate(items)


def _quantity_tenths(text: str) -> int | None:
    """A count in tenths: "12" → 120, "1,5" → 15, "tre" → 30."""
    if text in ("a", "an"):
        return 10
    match = re.fullmatch(r"([0-9]{1,3})(?:[.,]([0-9]))?", text)
    if match:
        return int(match.group(1)) * 10 + int(match.group(2) or 0)
    value = parse_number_words(text.split())
    return None if value is None else value * 10


# --- money -------------------------------------------------------------------------------------

_MONEY_LITERAL = [
    # (pattern with kroner and øre groups, the character that groups thousands)
    (re.compile(r"([0-9]{1,3}(?: [0-9]{3})+)(?:[.,]([0-9]{1,2}))?"), " "),
    (re.compile(r"([0-9]+)(?:[.,]([0-9]{1,2}))?"), None),
    (re.compile(r"([0-9]{1,3}(?:\.[0-9]{3})+)(?:,([0-9]{1,2}))?"), "."),
    (re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]{1,2}))?"), ","),
]


def _money_literal_ore(text: str) -> int | None:
    for pattern, grouping in _MONEY_LITERAL:
        match = pattern.fullmatch(text)
        if match:
            kroner = match.group(1).replace(grouping, "") if grouping else match.group(1)
            if len(kroner.lstrip("0")) > _MAX_KRONER_DIGITS:
                return None
            ore = (match.group(2) or "0").ljust(2, "0")
            return int(kroner) * 100 + int(ore)
    return None


def parse_amount_ore(text: str) -> int | None:
    """An amount in Norwegian kroner as integer øre.

    "500 kr" → 50000, "kr 1 200,50" → 120050, "1.200,-" → 120000, "1.234,56" and
    "1,234.56" → 123456, "femhundre kroner" → 50000, "to tusen fem hundre" → 250000.
    The currency word is optional; a foreign currency, a sign or "øre" gives ``None``.
    """
    s = _clean(text)
    if not s or re.search(r"(?:^|\s)(?:-|\+|minus\s)", s):
        return None  # a sign: refunds and debts are not amounts a debtor offers
    words = s.replace(",-", " ,-").replace(".-", " .-").split()
    if any(w.strip(".") in FOREIGN_CURRENCY for w in words) or re.search(r"[$€£¥]", s):
        return None
    if "ore" in words:
        return None
    # Currency markers: "kr", "kroner", "NOK", and the ",-" that closes a whole-kroner sum.
    core = [w for w in words if w not in CURRENCY_WORDS and w not in (",-", ".-", ",--")]
    if not core:
        return None
    if len(words) - len(core) > 2:
        return None
    literal = " ".join(core).rstrip(".")
    if re.fullmatch(r"[0-9][0-9 .,]*", literal):
        return _money_literal_ore(literal)
    value = parse_number_words(core)
    return None if value is None else value * 100


# --- months ------------------------------------------------------------------------------------

_MONTHS_FILLER = r"i|over|pa|in|for|om|within|innen|ca\.?|cirka|omtrent|about|around|rundt"


def parse_months(text: str) -> int | None:
    """A duration as a whole number of months, 1 to 120.

    "12 måneder", "seks mnd", "tolv md", "6 months" → months as written; "et år", "a year" → 12;
    "et halvt år" → 6; "halvannet år" → 18; "to år" → 24. A bare number has no unit: ``None``.
    """
    s, _ = _strip_words(_clean(text), _MONTHS_FILLER)
    s = s.rstrip(".")
    units = "|".join(sorted(MONTH_UNITS | YEAR_UNITS, key=len, reverse=True))
    years = "|".join(YEAR_UNITS)
    one = r"(?:et|ett|ei|en|eit|eitt|a|one)"
    months: int | None = None
    if re.fullmatch(rf"(?:{one}\s+)?(?:halvt|halv|half)\s+(?:a\s+)?(?:{years})", s) or re.fullmatch(
        rf"(?:{one}\s+)?halvar", s
    ):
        months = 6
    elif re.fullmatch(rf"(?:{'|'.join(ONE_AND_A_HALF_WORDS)})\s+(?:{years})", s):
        months = 18
    elif match := re.fullmatch(rf"(.+?)\s+(?:og|and)\s+(?:{one}\s+)?(?:halvt|halv|half)\s+(?:{years})", s):
        whole = _quantity_tenths(match.group(1))
        months = None if whole is None or whole % 10 else whole // 10 * 12 + 6
    elif match := re.fullmatch(rf"(.+?)\s*({units})", s):
        tenths = _quantity_tenths(match.group(1).strip())
        if tenths is not None:
            total_tenths = tenths * (12 if match.group(2) in YEAR_UNITS else 1)
            months = total_tenths // 10 if total_tenths % 10 == 0 else None
    if months is None or not 1 <= months <= MAX_PLAN_MONTHS:
        return None
    return months


# --- calendar dates ----------------------------------------------------------------------------

_MONTH_ALTERNATION = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True))
_YEAR = r"([0-9]{4}|[0-9]{2})"
_CALENDAR_FORMS = [
    # (pattern, group order: day, month, year); month may be a name.
    (re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"), (3, 2, 1)),
    (re.compile(rf"([0-9]{{1,2}})[./-]([0-9]{{1,2}})[./-]{_YEAR}\.?"), (1, 2, 3)),
    (re.compile(r"([0-9]{1,2})[./]([0-9]{1,2})\.?"), (1, 2, None)),
    (
        re.compile(rf"([0-9]{{1,2}}){_ORDINAL}?\s*(?:of\s+|av\s+)?({_MONTH_ALTERNATION})\.?,?(?:\s*{_YEAR})?\.?"),
        (1, 2, 3),
    ),
    (re.compile(rf"({_MONTH_ALTERNATION})\.?\s*(?:the\s+)?([0-9]{{1,2}}){_ORDINAL}?,?(?:\s*{_YEAR})?\.?"), (2, 1, 3)),
]


def _calendar_parts(text: str) -> tuple[int, int, str | None] | None:
    """(day, month, year as written or None) of an absolute date, not yet validated."""
    for pattern, (day_group, month_group, year_group) in _CALENDAR_FORMS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        month_text = match.group(month_group)
        month = MONTH_NUMBERS.get(month_text) if month_text.isalpha() else int(month_text)
        year = match.group(year_group) if year_group else None
        if month is None:
            return None
        return int(match.group(day_group)), month, year
    return None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- birth dates -------------------------------------------------------------------------------

_BIRTH_FILLER = (
    r"fodt|fodd|foedt|f\.|f|fodselsdato|fodselsdatoen|fodselsdag|fdato|dob|d\.o\.b\.?|born|"
    r"birth|date of birth|birthday|bursdag|jeg|eg|i|am|was|er|is|on|pa|den|the|:"
)


def _birth_date(day: int, month: int, year_text: str, today: date) -> date | None:
    year = int(year_text)
    if len(year_text) == 2:
        recent = _valid_date(2000 + year, month, day)
        result = recent if recent is not None and recent <= today else _valid_date(1900 + year, month, day)
    else:
        result = _valid_date(year, month, day)
    if result is None or result > today or result.year < 1900:
        return None
    return result


def parse_birth_date(text: str, today: date) -> date | None:
    """A date of birth in the past, written any way debtors write it.

    "14.03.1985", "14/3-85", "140385", "14031985", "14. mars 1985", "27th of June 1978",
    "June 27, 1978", "1978-06-27". Two-digit years: 20yy unless that is after `today`, else 19yy.
    No year, an impossible day (31.02) or a future date gives ``None``.
    """
    s, _ = _strip_words(_clean(text), _BIRTH_FILLER)
    if re.fullmatch(r"[0-9]{6}|[0-9]{8}", s):
        result = _birth_date(int(s[:2]), int(s[2:4]), s[4:], today)
        if result is None and len(s) == 8:  # 19850314 (ISO without dashes)
            result = _birth_date(int(s[6:]), int(s[4:6]), s[:4], today)
        return result
    parts = _calendar_parts(s)
    if parts is None or parts[2] is None:
        return None
    day, month, year = parts
    return _birth_date(day, month, year, today)


# --- dates relative to today -------------------------------------------------------------------

_DATE_FILLER = r"den|the|on|pa|by|til|until|innen|before|for|fra|from|fom|f\.o\.m\.|senest|latest"
_TODAY = {"i dag", "idag", "today"}
_TOMORROW = {
    "i morgen",
    "imorgen",
    "i morgon",
    "imorgon",
    "i morra",
    "imorra",
    "i marra",
    "imarra",
    "i morn",
    "imorn",
    "i marn",
    "imarn",
    "tomorrow",
    "tmrw",
    "tomorow",
}
_DAY_AFTER_TOMORROW = {
    "i overmorgen",
    "overimorgen",
    "i overmorgon",
    "iovermorgen",
    "the day after tomorrow",
    "day after tomorrow",
}
_NEXT = r"(?:neste|naeste|next)"
_WEEK = r"(?:uke|veke|week)"
_MONTH_WORD = r"(?:maned|maaned|manad|mnd|month)"
_WEEKDAY_ALTERNATION = "|".join(WEEKDAY_NUMBERS)
_AFTER_NEW_YEAR = (
    r"(?:etter|over|after)\s+(?:the\s+)?"
    r"(?:nyttar|nyttaar|nytt\s+ar|new\s*year(?:'?s)?(?:\s+day)?)"
)
_END_OF_MONTH = (
    r"(?:i\s+|at\s+(?:the\s+)?)?"
    r"(?:slutten\s+av\s+(?:maneden|maaneden|manaden|mnd)|end\s+of\s+(?:the\s+)?month|ultimo)"
)


def _first_of_next_month(today: date) -> date:
    return date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _next_day_and_month(day: int, month: int, today: date) -> date | None:
    for year in range(today.year, today.year + 9):  # 29 February: up to the next leap year
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _relative_date(s: str, today: date) -> date | None:
    if s in _TODAY:
        return today
    if s in _TOMORROW:
        return today + timedelta(days=1)
    if s in _DAY_AFTER_TOMORROW:
        return today + timedelta(days=2)
    if match := re.fullmatch(
        rf"(?:(?:{_NEXT}|forstkommende|kommende|denne|this|pa|on|fra)\s+)?({_WEEKDAY_ALTERNATION})"
        rf"(?:\s+(?:i\s+|in\s+)?({_NEXT}\s+{_WEEK}))?",
        s,
    ):
        weekday = WEEKDAY_NUMBERS[match.group(1)]
        if match.group(2):
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
            return monday + timedelta(days=weekday)
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if re.fullmatch(rf"(?:i\s+|in\s+)?{_NEXT}\s+{_WEEK}", s):
        return today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    if re.fullmatch(rf"(?:i\s+|in\s+)?{_NEXT}\s+{_MONTH_WORD}", s):
        return _first_of_next_month(today)
    if re.fullmatch(_AFTER_NEW_YEAR, s):
        this_year = date(today.year, 1, 2)
        return this_year if today < this_year else date(today.year + 1, 1, 2)
    if re.fullmatch(_END_OF_MONTH, s):
        return _first_of_next_month(today) - timedelta(days=1)
    if match := re.fullmatch(
        r"(?:om|in|innen|within)\s+(.+?)\s+(dag|dager|dagar|dogn|days?|uke|uker|veke|veker|weeks?)", s
    ):
        tenths = _quantity_tenths(match.group(1))
        if tenths is None or tenths % 10 or not 1 <= tenths // 10 <= 366:
            return None
        days = tenths // 10 * (1 if match.group(2).startswith(("da", "do")) else 7)
        return today + timedelta(days=days)
    return None


def parse_date(text: str, today: date) -> date | None:
    """A payment or promise date, resolved against `today` (Europe/Oslo).

    Absolute: "15.01.2027", "15/1", "20. desember", "20th of December", "December 20";
    day only: "den 20.", "the 20th"; relative: "i morgen", "tomorrow", "fredag",
    "neste fredag", "next Friday", "neste måned", "etter nyttår", "om to uker".
    See the module docstring for how each is resolved. Invalid dates give ``None``.
    """
    s = _clean(text).rstrip(",")
    relative = _relative_date(s, today)
    if relative is not None:
        return relative
    s, had_article = _strip_words(s, _DATE_FILLER)
    relative = _relative_date(s, today)
    if relative is not None:
        return relative
    if match := re.fullmatch(r"([0-9]{1,2})(\.|st|nd|rd|th)?", s):
        if match.group(2) is None and not had_article:
            return None  # "20" alone is a number, "den 20" or "20." is a day
        day = int(match.group(1))
        return _next_day_of_month(day, today) if 1 <= day <= 31 else None
    parts = _calendar_parts(s)
    if parts is None:
        return None
    day, month, year = parts
    if year is None:
        return _next_day_and_month(day, month, today) if 1 <= month <= 12 and 1 <= day <= 31 else None
    return _valid_date(int(year) + (2000 if len(year) == 2 else 0), month, day)


# --- phone and language ------------------------------------------------------------------------


def parse_phone(text: str) -> str | None:
    """A valid phone number in E.164; numbers without a country code are Norwegian.

    "912 34 567", "+47 912 34 567", "0047 98765432" → "+4791234567" / "+4798765432".
    """
    s = _normalise_chars(text).strip().rstrip(".")
    # ASCII digits only: phonenumbers would read fullwidth digits, our callers must not.
    if not re.fullmatch(r"\+?[0-9][0-9 ().-]{5,20}", s):
        return None
    try:
        number = phonenumbers.parse(s, "NO")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_language(text: str) -> str | None:
    """The language the debtor asks for: "nb" (Bokmål, also for Nynorsk) or "en".

    "engelsk", "in English", "norsk", "Norwegian", "bokmål", "nynorsk". A negated mention
    ("not English") is ignored; with several, the last one counts ("fra engelsk til norsk").
    """
    words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", fold(_normalise_chars(text)))
    chosen = None
    for index, word in enumerate(words):
        code = LANGUAGE_CODES.get(word)
        if code and not (index > 0 and words[index - 1] in _NEGATIONS):
            chosen = code
    return chosen


# --- spoken numbers and dates ------------------------------------------------------------------
# Speech recognition (the phone) and some typists write numbers the way they are said: digit by
# digit ("en null null null null en", "one oh oh one"), in words ("hundre tusen og en") and dates
# with ordinals and spoken years ("fjortende mars nitten åttifem"). `spoken_rewrites` finds such
# runs and gives their written form, so that the extractor's ordinary rules classify them.
# False positives matter more than misses: "en" is also the article, "to" a preposition in English,
# "andre" means "other". So digit words count only in a run of three or more of one language,
# number words only when the message is essentially that number or a case word announces it,
# and ordinals only next to a month.

_DIGIT_WORDS = {
    "nb": {
        "null": 0,
        "en": 1,
        "ein": 1,
        "ett": 1,
        "eitt": 1,
        "to": 2,
        "tre": 3,
        "fire": 4,
        "fem": 5,
        "seks": 6,
        "sju": 7,
        "syv": 7,
        "atte": 8,
        "aatte": 8,
        "ni": 9,
    },
    "en": {
        "zero": 0,
        "oh": 0,
        "o": 0,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
    },
}
_MIN_DIGIT_RUN = 3
_ZERO_LETTERS = frozenset({"oh", "o"})  # English zero, never the first digit ("oh one more thing")

# Ordinals as written, not folded: "åttende" is 8th, "attende" 18th.
_ORDINAL_UNITS = {
    **dict.fromkeys(["første", "fyrste", "forste", "first"], 1),
    **dict.fromkeys(["andre", "second"], 2),
    **dict.fromkeys(["tredje", "third"], 3),
    **dict.fromkeys(["fjerde", "fourth"], 4),
    **dict.fromkeys(["femte", "fifth"], 5),
    **dict.fromkeys(["sjette", "sixth"], 6),
    **dict.fromkeys(["sjuende", "syvende", "sjuande", "seventh"], 7),
    **dict.fromkeys(["åttende", "åttande", "aattende", "eighth"], 8),
    **dict.fromkeys(["niende", "niande", "ninth"], 9),
}
_ORDINALS = {
    **_ORDINAL_UNITS,
    **dict.fromkeys(["tiende", "tiande", "tenth"], 10),
    **dict.fromkeys(["ellevte", "ellevfte", "eleventh"], 11),
    **dict.fromkeys(["tolvte", "twelfth"], 12),
    **dict.fromkeys(["trettende", "trettande", "thirteenth"], 13),
    **dict.fromkeys(["fjortende", "fjortande", "fourteenth"], 14),
    **dict.fromkeys(["femtende", "femtande", "fifteenth"], 15),
    **dict.fromkeys(["sekstende", "sekstande", "sixteenth"], 16),
    **dict.fromkeys(["syttende", "syttande", "seventeenth"], 17),
    **dict.fromkeys(["attende", "attande", "eighteenth"], 18),
    **dict.fromkeys(["nittende", "nittande", "nineteenth"], 19),
    **dict.fromkeys(["tjuende", "tjuande", "tjugande", "tyvende", "twentieth"], 20),
    **dict.fromkeys(["trettiende", "trettiande", "tredevte", "thirtieth"], 30),
}
_ORDINAL_TENS = {"tjue": 20, "tjuge": 20, "tyve": 20, "twenty": 20, "tretti": 30, "tredve": 30, "thirty": 30}
_DATE_ARTICLES = frozenset({"the", "den"})
_MONTH_OF = frozenset({"of", "av"})
# Words that may surround a spoken number in an answer that is "essentially the number".
_NUMBER_FILLER = frozenset(
    {
        *"det er eh ehm hm oh oeh um uh ja yes it is its it's that's thats my mitt min mi mine the nummeret".split(),
        *"nummer number nr jeg tror i think har have kanskje maybe vel well sa so altsa okay ok".split(),
        *"sak saka saken saksnr saksnummer saksnummeret saksnummert case ref referanse referansenummer".split(),
        *"fodt fodd fodselsdato fodselsdatoen born birth date of dob".split(),
    }
)
_CASE_WORDS = frozenset(
    {"sak", "saka", "saken", "saksnr", "saksnummer", "saksnummeret", "case", "ref", "referanse", "referansenummer"}
)
_MIN_SPOKEN_CASE_NUMBER = 100_000  # case numbers have six to eight digits
_EDGE_PUNCTUATION = "\"'()[]«»“”,.!?;:"


@dataclass(frozen=True)
class _Word:
    start: int  # character offsets of the word without surrounding punctuation
    end: int
    text: str  # lower-cased as written
    folded: str


def _words(text: str) -> list[_Word]:
    words = []
    for match in re.finditer(r"\S+", text):
        raw = match.group()
        core = raw.strip(_EDGE_PUNCTUATION)
        if not core:
            continue
        start = match.start() + raw.index(core)
        lowered = core.lower()
        words.append(_Word(start, start + len(core), lowered, fold(lowered)))
    return words


def _digit(word: _Word) -> tuple[str, int] | None:
    """(language, digit) of one spoken or written digit."""
    if re.fullmatch(r"[0-9]", word.text):
        return "digit", int(word.text)
    for language, digits in _DIGIT_WORDS.items():
        if word.folded in digits:
            return language, digits[word.folded]
    return None


def _ordinal(words: list[_Word], i: int) -> tuple[int, int] | None:
    """(value, words used) of an ordinal day at `i`: "fjortende", "twenty-first", "tjue første"."""
    if i >= len(words):
        return None
    text = words[i].text
    if text in _ORDINALS:
        return _ORDINALS[text], 1
    if match := re.fullmatch(r"(0?[1-9]|[12][0-9]|3[01])(?:\.|st|nd|rd|th)", text):
        return int(match.group(1)), 1
    for tens_word, tens in _ORDINAL_TENS.items():
        rest = text.removeprefix(tens_word).lstrip("-")
        if rest != text and rest in _ORDINAL_UNITS:
            return tens + _ORDINAL_UNITS[rest], 1
    if text in _ORDINAL_TENS and i + 1 < len(words) and words[i + 1].text in _ORDINAL_UNITS:
        return _ORDINAL_TENS[text] + _ORDINAL_UNITS[words[i + 1].text], 2
    return None


def _cardinal_day(words: list[_Word], i: int) -> tuple[int, int] | None:
    """(value, words used) of a day said as a plain number: "14", "fjorten", "twenty one"."""
    if i >= len(words):
        return None
    if re.fullmatch(r"[0-9]{1,2}", words[i].text):
        return int(words[i].text), 1
    for length in (2, 1):
        chunk = words[i : i + length]
        if len(chunk) == length and all(w.folded in NUMBER_WORDS for w in chunk):
            value = parse_number_words([w.folded for w in chunk])
            if value is not None:
                return value, length
    return None


def _year_items(tokens: list[str]) -> list[tuple[str, int]] | None:
    items: list[tuple[str, int]] = []
    for token in tokens:
        for part in token.split("-"):
            if not part:
                continue
            if part.isdigit():
                return None
            pieces = _segment(part)
            if pieces is None:
                return None
            items.extend(pieces)
    return items


def _spoken_year(tokens: list[str]) -> str | None:
    """A year said in words: "nitten åttifem", "nittenåttifem", "nineteen eighty-five",
    "to tusen og fem", "twenty oh five", "tjue null fem" → "1985"/"2005"; "åttifem" → "85"."""
    whole = parse_number_words(tokens)
    if whole is not None and (1900 <= whole <= 2099 or (10 <= whole <= 99 and len(tokens) <= 2)):
        return f"{whole:02d}"
    items = _year_items(["null" if t in _ZERO_LETTERS else t for t in tokens])
    if not items or items[0] not in (("teen", 19), ("tens", 20)):
        return None
    rest = [item for item in items[1:] if item[0] != "and"]
    if len(rest) == 2 and rest[0] == ("unit", 0) and rest[1][0] == "unit":
        return f"{items[0][1]}0{rest[1][1]}"  # "twenty oh five"
    if rest == [("hundred", 100)]:
        return f"{items[0][1]}00"
    if len(rest) in (1, 2) and rest[0][0] in ("teen", "tens"):
        value = _evaluate(rest)
        if value is not None and 10 <= value <= 99:
            return f"{items[0][1]}{value}"
    return None


def _year(words: list[_Word], i: int) -> tuple[str, int] | None:
    """(year as written, words used) at `i`: digits or up to five words, the longest that fits."""
    if i >= len(words):
        return None
    if re.fullmatch(r"[0-9]{4}|[0-9]{2}", words[i].text):
        return words[i].text, 1
    for length in range(min(5, len(words) - i), 0, -1):
        chunk = [w.folded for w in words[i : i + length]]
        if chunk[0] in _CONNECTORS or chunk[-1] in _CONNECTORS:
            continue
        if not all(w in NUMBER_WORDS or w in _ZERO_LETTERS or NUMBER_WORD_TOKEN.match(w) for w in chunk):
            continue
        year = _spoken_year(chunk)
        if year is not None:
            return year, length
    return None


def _month(words: list[_Word], i: int) -> int | None:
    if i < len(words):
        return MONTH_NUMBERS.get(words[i].folded.rstrip("."))
    return None


def _is_spoken(words: list[_Word]) -> bool:
    """Whether any word is a number said in words (else the extractor reads the date as it is)."""
    return any(
        not re.fullmatch(r"[0-9]{1,4}(?:\.|st|nd|rd|th)?", w.text)
        and w.folded.rstrip(".") not in MONTH_NUMBERS
        and w.text not in _MONTH_OF | _DATE_ARTICLES
        for w in words
    )


def _date_at(words: list[_Word], i: int, whole) -> tuple[int, str] | None:
    """(words used, written date) for a spoken date starting at `i`.

    Day first: "fjortende mars nitten åttifem", "the fourteenth of march 1985",
    "fjortende i tredje åttifem", "fjorten mars 1985" (a plain-number day needs a year),
    "14 3 1985"; month first: "march fourteenth nineteen eighty five".
    """
    if (day := _ordinal(words, i)) or (day := _cardinal_day(words, i)):
        value, used = day
        ordinal = _ordinal(words, i) is not None
        j = i + used
        if j < len(words) and words[j].text in _MONTH_OF:
            j += 1
        month = _month(words, j)
        if month is None and ordinal and j < len(words) and words[j].text == "i":
            month_ordinal = _ordinal(words, j + 1)
            if month_ordinal and month_ordinal[0] <= 12 and month_ordinal[1] == 1:
                month, j = month_ordinal[0], j + 1
        numeric_month = None
        if month is None and re.fullmatch(r"[0-9]{1,2}", words[i].text) and used == 1 and j == i + 1:
            if j < len(words) and re.fullmatch(r"0?[1-9]|1[0-2]", words[j].text):
                numeric_month = int(words[j].text)
        if month is not None or numeric_month is not None:
            year = _year(words, j + 1)
            if numeric_month is not None:
                # "14 3 1985": three plain numbers are a date only with a four-digit year, or when
                # they are all the message says.
                if year is None or year[1] != 1 or (len(year[0]) == 2 and not whole(i, j + 2)):
                    return None
                month = numeric_month
            elif year is None and not ordinal:
                return None
            if not 1 <= value <= 31:
                return None
            end = j + 1 + (year[1] if year else 0)
            if not _is_spoken(words[i:end]) and numeric_month is None:
                return None  # already written the way the extractor reads it
            written = f"{value}.{month}.{year[0]}" if year else f"{value}.{month}."
            return end - i, written
    month = _month(words, i)
    if month is not None:
        j = i + 1 + (i + 1 < len(words) and words[i + 1].text in _DATE_ARTICLES)
        day = _ordinal(words, j)
        if day is None or not 1 <= day[0] <= 31:
            return None
        end = j + day[1]
        year = _year(words, end)
        if year is None and end < len(words):
            return None  # "I may first need to ..." is no date
        end += year[1] if year else 0
        if not _is_spoken(words[i:end]):
            return None
        written = f"{day[0]}.{month}.{year[0]}" if year else f"{day[0]}.{month}."
        return end - i, written
    return None


def _digit_run(words: list[_Word], i: int) -> tuple[int, str] | None:
    """(words used, digits) for three or more digits said one by one, in one language."""
    first = _digit(words[i])
    if first is None or words[i].folded in _ZERO_LETTERS:
        return None
    language, digits = first[0], [first[1]]
    j = i + 1
    while j < len(words) and (next_digit := _digit(words[j])) is not None and next_digit[0] == language:
        digits.append(next_digit[1])
        j += 1
    if len(digits) < _MIN_DIGIT_RUN:
        return None
    return j - i, "".join(str(d) for d in digits)


def _number_word_run(words: list[_Word], i: int, whole_range) -> tuple[int, str] | None:
    """(words used, digits) for a case-number-sized number in words ("hundre tusen og en"),
    when the message is essentially that number or a case word comes just before it."""
    j = i
    while j < len(words) and (words[j].folded in NUMBER_WORDS or NUMBER_WORD_TOKEN.match(words[j].folded)):
        j += 1
    if j == i:
        return None
    value = parse_number_words([w.folded for w in words[i:j]])
    if value is None or value < _MIN_SPOKEN_CASE_NUMBER:
        return None
    announced = any(w.folded in _CASE_WORDS for w in words[max(0, i - 4) : i])
    if not (announced or whole_range(i, j)):
        return None
    return j - i, str(value)


def spoken_rewrites(text: str) -> list[tuple[int, int, str]]:
    """(start, end, written form) for each spoken number or date in `text`, left to right.

    "en null null null null en" → "100001", "hundre tusen og en" → "100001" (when it is the
    answer), "fjortende mars nitten åttifem" → "14.3.1985", "14 3 1985" → "14.3.1985".
    Offsets index `text`; ordinary sentences ("jeg har en faktura") give nothing.
    """
    words = _words(text)

    def only_filler_outside(start: int, end: int) -> bool:
        return all(w.folded in _NUMBER_FILLER for w in words[:start] + words[end:])

    rewrites: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        found = None
        for finder in (
            lambda k: _date_at(words, k, only_filler_outside),
            lambda k: _digit_run(words, k),
            lambda k: _number_word_run(words, k, only_filler_outside),
        ):
            found = finder(i)
            if found is not None:
                break
        if found is None:
            i += 1
            continue
        used, written = found
        rewrites.append((words[i].start, words[i + used - 1].end, written))
        i += used
    return rewrites


def written_form(text: str) -> str:
    """`text` with its spoken numbers and dates written out (see `spoken_rewrites`)."""
    out, last = [], 0
    for start, end, written in spoken_rewrites(text):
        out += [text[last:start], written]
        last = end
    out.append(text[last:])
    return "".join(out)
