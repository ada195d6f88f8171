"""Rasa component that finds and normalises the debtor entities in a user message.

Pipeline place: after the tokenizer and after DIET (`- name: bot.nlu.entity_extractor.
NorwegianEntityExtractor`). It needs no training: spaCy's blank Norwegian tokenizer and a
`Matcher` propose candidate spans, `bot.nlu.normalisers` turns each into a value, and the rules
below decide which entity a number is. Entities carry character offsets into the original text,
never overlap (the longest span wins, then the more specific entity), and replace a DIET entity
of the same type at an overlapping span.

How a number is classified (pinned by tests/bot/nlu/test_entity_extractor.py):
- The context word is the nearest word before the number, at most four words back and not past
  another number; failing that, one of the two words after it. Context words: case ("sak",
  "saksnr", "case", "ref"), birth ("født", "fødd", "fødselsdato", "f.", "born", "dob"), phone
  ("tlf", "telefon", "mobil", "phone", "nummer"), other ("faktura", "KID", "konto", "account":
  invoice, payment reference and account numbers are none of our entities).
- 11 digits (or 6 + 5, "148385 40024") with a real date and both control digits → national_id;
  an account number (its check digit has the second control digit's weights) is not one.
- "+47…", "0047…" or any "+country" number → phone. 8 digits starting with 4 or 9 → phone with a
  phone context word or when spaced like a phone number ("912 34 567", "91 23 45 67").
- 6 to 8 digits in one token → case_number, unless a birth context word is near and the digits
  are a valid DDMMYY or DDMMYYYY date: then birth_date. So a bare "140385" is a case number,
  "født 140385" a birth date. Spaced ("sak 100 001") only with a case context word.
- A written date with a year is a birth_date when a birth context word is near, or when it lies
  more than five years from today (nobody plans a payment for 1985); otherwise a date.
- An amount needs a currency ("kr", "kroner", "NOK", ",-"), or an amount word before it
  ("betale", "avdrag", "pay", …) and no counting word after it ("betale 2 ganger" is no amount),
  and then at least 10 kr. Six to eight plain digits stay a case number.
- Months need a unit ("12 mnd", "et år"); "for et år siden", "40 år gammel" and "200 a month"
  (a rate) are not plan lengths.
- Dates: see `bot.nlu.normalisers`; "sist fredag"/"last Friday" (the past) and clock times
  ("kl 12.12") give none. Year-less dates always resolve forward, also after "betalte".
- Language: every mention of a supported language, unless negated ("ikke engelsk").
- Spoken forms ("en null null null null en", "fjortende mars nitten åttifem") are first written
  out by `normalisers.spoken_rewrites` and then follow the rules above; offsets still point at
  the words as said (tests/bot/nlu/test_spoken_numbers.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Text, Tuple

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from bot.identifiers import InvalidIdentifier, validate_national_id
from bot.nlu import normalisers as nz
from bot.nlu.normalisers import today_in_oslo

ENTITY_TYPES = (
    "case_number",
    "national_id",
    "birth_date",
    "amount",
    "date",
    "months",
    "phone",
    "language",
)
# Equal-length overlaps go to the more specific entity (earlier in this tuple).
_SPECIFICITY = {
    name: rank
    for rank, name in enumerate(
        ("national_id", "phone", "case_number", "birth_date", "date", "amount", "months", "language")
    )
}
_PAYMENT_DATE_WINDOW = timedelta(days=5 * 366)
_MIN_BARE_AMOUNT_ORE = 10_00


def reference_today() -> date:
    """The date relative expressions resolve against. Tests replace this function."""
    return today_in_oslo()


# --- context words (folded: æøå spelt ae/o/a) ---------------------------------------------------

_CONTEXT = {
    "case": {
        "sak",
        "saka",
        "saken",
        "saksnr",
        "saksnummer",
        "saksnummeret",
        "saksnumer",
        "saksnum",
        "case",
        "ref",
        "referanse",
        "referansenummer",
        "referansenr",
        "refnr",
    },
    "birth": {
        "fodt",
        "fodd",
        "foedt",
        "fodselsdato",
        "fodselsdatoen",
        "fodselsdag",
        "fdato",
        "f",
        "dob",
        "born",
        "birth",
        "birthday",
        "bursdag",
        "birthdate",
    },
    "phone": {
        "tlf",
        "telefon",
        "telefonnr",
        "telefonnummer",
        "telefonnummeret",
        "mobil",
        "mobilnr",
        "mobilnummer",
        "mobilnummeret",
        "mobilen",
        "phone",
        "mobile",
        "cell",
        "tel",
        "ring",
        "call",
        "sms",
    },
    "other": {
        "faktura",
        "fakturanr",
        "fakturanummer",
        "fakturanummeret",
        "invoice",
        "kid",
        "kidnr",
        "kidnummer",
        "konto",
        "kontonr",
        "kontonummer",
        "kontonummeret",
        "account",
        "iban",
        "orgnr",
        "organisasjonsnummer",
        "kortnummer",
        "card",
    },
}
_CONTEXT_KIND = {word: kind for kind, words in _CONTEXT.items() for word in words}
# "nummer"/"nr" alone are weak: the word before decides ("sak nr", "mobil nummer").
_WEAK_CONTEXT = {"nummer": "phone", "nummeret": "phone", "number": "phone", "nr": "case", "no": "case"}

_AMOUNT_WORDS = {
    "betale",
    "betaler",
    "betalt",
    "betala",
    "betalar",
    "betalte",
    "innbetale",
    "innbetalt",
    "nedbetale",
    "overfore",
    "overfort",
    "avdrag",
    "avdraget",
    "belop",
    "belopet",
    "sum",
    "summen",
    "rad",
    "klarer",
    "klare",
    "greier",
    "manedlig",
    "pay",
    "paying",
    "paid",
    "payment",
    "payments",
    "afford",
    "instalment",
    "installment",
    "transfer",
    "transferred",
}
# What may follow a bare amount: "betale 500 i mnd", "500 per month", "500 nå", end of message.
_AMOUNT_FOLLOWERS = {
    "i",
    "per",
    "pr",
    "hver",
    "kvar",
    "a",
    "each",
    "every",
    "om",
    "til",
    "pa",
    "den",
    "fra",
    "og",
    "and",
    "in",
    "by",
    "on",
    "innen",
    "na",
    "now",
    "today",
    "idag",
    "for",
    "men",
    "but",
    "neste",
    "next",
    "med",
    "with",
    "hvis",
    "if",
    "dersom",
    "fordi",
    "because",
    "sa",
    "so",
    "da",
    "then",
    "manedlig",
    "monthly",
    "eller",
    "or",
}
_NOT_A_PLAN_AFTER = {"siden", "sida", "ago", "gammel", "gamal", "gamle", "old"}
_NEGATIONS = {"ikke", "ikkje", "not", "no"}
_SENTENCE_END = {".", "!", "?"}
_PAST = {"sist", "forrige", "last", "previous"}  # "sist fredag" is behind us: no payment date
_CLOCK = {"kl", "kl.", "klokka", "klokken", "at"}  # "kl 12.12" is a time, not 12 December

# --- token patterns ---------------------------------------------------------------------------

_NUMBER_WORD_RE = "|".join(sorted(nz.NUMBER_WORDS - {"a"}, key=len, reverse=True))
_NUMISH_RE = rf"^(?:[0-9][0-9.,]*(?:,-|\.-)?|a|an|(?=.{{1,40}}$)(?:{_NUMBER_WORD_RE}|-)+)$"
_HALF_RE = "|".join(sorted(nz.HALF_WORDS | nz.ONE_AND_A_HALF_WORDS))

# ASCII [0-9] on purpose rather than IS_DIGIT/LIKE_NUM: those also accept fullwidth and other
# scripts' digits, which the normalisers do not read and a debtor does not mean as an identifier.
# One token of 6+ digits, or runs of groups ("+47 912 34 567", "148385 40024", "100 001").
DIGITS = {"TEXT": {"REGEX": r"^\+?[0-9]{6,12}\.?$"}}
DIGIT_GROUP = {"TEXT": {"REGEX": r"^\+?[0-9]{2,8}\.?$"}}
NATIONAL_ID_HYPHEN = {"TEXT": {"REGEX": r"^[0-9]{6}-[0-9]{5}\.?$"}}
NUMERIC_DATE = {
    "TEXT": {
        "REGEX": (
            r"^(?:[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{2}|[0-9]{4})"
            r"|[0-9]{1,2}[./][0-9]{1,2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})\.?$"
        )
    }
}
DAY = {"LOWER": {"REGEX": r"^(?:0?[1-9]|[12][0-9]|3[01])(?:\.|st|nd|rd|th)?$"}}
ORDINAL_DAY = {"LOWER": {"REGEX": r"^(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)$"}}
YEAR = {"TEXT": {"REGEX": r"^(?:[0-9]{2}|[0-9]{4})\.?$"}}
MONTH_NAME = {"LOWER": {"IN": sorted({*nz.MONTH_NUMBERS, *(m + "." for m in nz.MONTH_NUMBERS)})}}
OF = {"LOWER": {"IN": ["of", "av"]}}
COMMA = {"TEXT": ","}
WEEKDAY = {"LOWER": {"IN": sorted(nz.WEEKDAY_NUMBERS)}}
NEXT = {"LOWER": {"IN": ["neste", "naeste", "next"]}}
NUMISH = {"LOWER": {"REGEX": _NUMISH_RE}}
PLAIN_NUMBER = {"TEXT": {"REGEX": r"^[0-9][0-9.,]*$"}}
SIGNED_NUMBER = {"TEXT": {"REGEX": r"^[-−][0-9][0-9.,]*$"}}  # "-500" is one token
NUMBER_WORD = {"LOWER": {"REGEX": rf"^(?:a|an|(?=.{{1,40}}$)(?:{_NUMBER_WORD_RE}|-)+)$"}}
MONTHS_NUMISH = {"LOWER": {"REGEX": rf"^(?:{_HALF_RE})$|{_NUMISH_RE}"}}
CURRENCY = {"LOWER": {"IN": sorted(nz.CURRENCY_WORDS)}}
KRONER_DASH = {"TEXT": {"REGEX": r"^[0-9][0-9.,]*,-$"}}
PLAN_UNIT = {"LOWER": {"IN": sorted({*nz.MONTH_UNITS, *nz.YEAR_UNITS, "mnd.", "md.", "mdr."})}}
LANGUAGE = {"LOWER": {"IN": sorted(nz.LANGUAGE_CODES)}}


def _lower_in(*words: str) -> Dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


def _runs(token: Dict[str, Any], lengths: range) -> List[List[Dict[str, Any]]]:
    # Fixed lengths instead of "+": the Matcher would return every sub-run of a long run.
    return [[token] * n for n in lengths]


def _patterns() -> Dict[str, List[List[Dict[str, Any]]]]:
    one_to_six = range(1, 7)
    calendar = [
        [NUMERIC_DATE],
        [DAY, MONTH_NAME],
        [DAY, MONTH_NAME, YEAR],
        [DAY, MONTH_NAME, COMMA, YEAR],
        [DAY, OF, MONTH_NAME],
        [DAY, OF, MONTH_NAME, YEAR],
        [DAY, OF, MONTH_NAME, COMMA, YEAR],
        [MONTH_NAME, DAY],
        [MONTH_NAME, DAY, YEAR],
        [MONTH_NAME, DAY, COMMA, YEAR],
    ]
    relative = [
        [_lower_in("den", "the"), DAY],
        [ORDINAL_DAY],
        [
            _lower_in("i"),
            _lower_in("morgen", "morgon", "morra", "marra", "morn", "marn", "dag", "overmorgen", "overmorgon"),
        ],
        [
            _lower_in(
                "imorgen",
                "imorgon",
                "imorra",
                "imarra",
                "imorn",
                "imarn",
                "idag",
                "overimorgen",
                "iovermorgen",
                "tomorrow",
                "tmrw",
                "tomorow",
                "today",
            )
        ],
        [_lower_in("day"), _lower_in("after"), _lower_in("tomorrow")],
        [WEEKDAY],
        [_lower_in("neste", "naeste", "next", "forstkommende", "kommende", "denne", "this"), WEEKDAY],
        [WEEKDAY, NEXT, _lower_in("uke", "veke", "week")],
        [WEEKDAY, _lower_in("i", "in"), NEXT, _lower_in("uke", "veke", "week")],
        [NEXT, _lower_in("uke", "veke", "week", "maned", "maaned", "manad", "mnd", "month")],
        [_lower_in("etter", "over", "after"), _lower_in("nyttar", "nyttaar", "newyear")],
        [_lower_in("etter", "over"), _lower_in("nytt"), _lower_in("ar")],
        [_lower_in("after"), _lower_in("new"), _lower_in("year", "years", "year's")],
        [_lower_in("after"), _lower_in("the"), _lower_in("new"), _lower_in("year", "years", "year's")],
        [_lower_in("slutten"), _lower_in("av"), _lower_in("maneden", "maaneden", "manaden", "mnd")],
        [_lower_in("end"), _lower_in("of"), _lower_in("month")],
        [_lower_in("end"), _lower_in("of"), _lower_in("the"), _lower_in("month")],
    ] + [
        [
            _lower_in("om", "in", "innen", "within"),
            *numbers,
            _lower_in("dag", "dager", "dagar", "dogn", "day", "days", "uke", "uker", "veke", "veker", "week", "weeks"),
        ]
        for numbers in _runs(NUMISH, range(1, 3))
    ]
    money = (
        [[CURRENCY, *run] for run in _runs(NUMISH, range(1, 5))]
        + [[*run, CURRENCY] for run in _runs(NUMISH, one_to_six)]
        + [[KRONER_DASH]]
    )
    months = [[*run, PLAN_UNIT] for run in _runs(MONTHS_NUMISH, one_to_six)] + [
        [_lower_in("halvar", "halvaar")],
        [_lower_in("et", "ett", "eit", "eitt"), _lower_in("halvar", "halvaar")],
    ]
    return {
        "DIGITS": [[DIGITS], [NATIONAL_ID_HYPHEN]] + _runs(DIGIT_GROUP, range(2, 6)),
        "CALENDAR": calendar,
        "RELATIVE": relative,
        "MONEY": money,
        "NEGATIVE_MONEY": [[SIGNED_NUMBER, CURRENCY], [CURRENCY, SIGNED_NUMBER]],
        "BARE_AMOUNT": _runs(PLAIN_NUMBER, range(1, 4))
        + _runs(NUMBER_WORD, one_to_six)
        + [[PLAIN_NUMBER, *run] for run in _runs(NUMBER_WORD, range(1, 5))],
        "MONTHS": months,
        "LANGUAGE": [[LANGUAGE], [_lower_in("norsk"), _lower_in("bokmal", "bokmaal", "nynorsk")]],
    }


@functools.lru_cache(maxsize=1)
def _spacy_pipeline() -> Tuple[Language, Matcher]:
    """The blank Norwegian tokenizer and the matcher, built once per process (no download)."""
    nlp = spacy.blank("nb")
    matcher = Matcher(nlp.vocab)
    for label, patterns in _patterns().items():
        matcher.add(label, patterns)
    return nlp, matcher


# --- text preparation -------------------------------------------------------------------------

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212"


def _prepare(text: str) -> Tuple[str, List[int]]:
    """Fold, unify spaces and split glued identifiers, remembering each character's origin.

    Returns the text the matcher sees and, for each of its characters, the index of the
    original character it came from, so entity offsets point into the message as written.
    """
    chars: List[str] = []
    origin: List[int] = []
    for index, char in enumerate(text):
        if char.isspace() or char in _ZERO_WIDTH:
            if chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
            continue
        for folded in nz.fold("-" if char in _DASHES else char):
            chars.append(folded)
            origin.append(index)
    work = "".join(chars)
    cuts = [match.start() for match in nz.GLUE_BOUNDARY.finditer(work)]
    if not cuts:
        return work, origin
    pieces, new_origin, last = [], [], 0
    for cut in cuts:
        pieces += [work[last:cut], " "]
        new_origin += origin[last:cut] + [origin[cut]]
        last = cut
    pieces.append(work[last:])
    new_origin += origin[last:]
    return "".join(pieces), new_origin


def _written(text: str) -> Tuple[str, List[int]]:
    """`text` with spoken numbers and dates written out (`normalisers.spoken_rewrites`), and for
    each character the index of the original one; a written-out run spans its whole original."""
    chars: List[str] = []
    origin: List[int] = []
    last = 0
    for start, end, written in nz.spoken_rewrites(text):
        chars += text[last:start]
        origin += range(last, start)
        chars += written
        origin += [start] * (len(written) - 1) + [end - 1]
        last = end
    chars += text[last:]
    origin += range(last, len(text))
    return "".join(chars), origin


# --- classification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    start: int  # token indices in the prepared doc
    end: int
    entity: str
    value: Any


class _Context:
    """Words around candidate spans, folded, with the helpers the rules need."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        # None for spaces and punctuation; words keep their text without a closing "." or ":".
        self.words: List[Optional[str]] = [
            None if token.is_space or token.is_punct else (token.lower_.rstrip(".:") or None) for token in doc
        ]

    def _word_kind(self, index: int) -> Optional[str]:
        word = self.words[index]
        if word in _CONTEXT_KIND:
            return _CONTEXT_KIND[word]
        if word in _WEAK_CONTEXT:
            previous = next((w for w in reversed(self.words[:index]) if w is not None), None)
            return _CONTEXT_KIND.get(previous, _WEAK_CONTEXT[word])
        return None

    def kind_near(self, start: int, end: int) -> Optional[str]:
        """The kind of the nearest context word: before the span, else just after it.

        Another number ends the search: a context word next to it is that number's.
        """
        for forward, indices, limit in (
            (False, range(start - 1, -1, -1), 4),
            (True, range(end, len(self.words)), 2),
        ):
            seen = 0
            for index in indices:
                word = self.words[index]
                if word is None:
                    continue
                if re.search(r"[0-9]", word):
                    break
                kind = self._word_kind(index)
                if kind:
                    if forward and self._number_follows(index):
                        break  # "100001 født 14.03.85": "født" introduces the date
                    return kind
                seen += 1
                if seen == limit:
                    break
        return None

    def _number_follows(self, index: int) -> bool:
        following = next((w for w in self.words[index + 1 :] if w is not None), "")
        return bool(re.search(r"[0-9]", following))

    def has_amount_word_before(self, start: int) -> bool:
        seen = 0
        for index in range(start - 1, -1, -1):
            token = self.doc[index]
            if token.text in _SENTENCE_END:
                return False
            word = self.words[index]
            if word is None:
                continue
            if word in _AMOUNT_WORDS:
                return True
            seen += 1
            if seen == 4 or re.search(r"[0-9]", word):
                return False
        return False

    def next_word(self, end: int) -> Optional[str]:
        """The token after the span, folded ("" at the end of the message)."""
        if end >= len(self.doc):
            return ""
        token = self.doc[end]
        return token.text if token.is_punct else token.lower_

    def previous_text(self, start: int) -> str:
        return self.doc[start - 1].lower_ if start > 0 else ""


def _national_id(digits: str) -> Optional[Tuple[str, Any]]:
    """Eleven digits are an identity number only with a real date and both control digits; an
    account number (whose check digit uses the same weights as the second) is not one."""
    try:
        return ("national_id", validate_national_id(digits, allow_synthetic=True))
    except InvalidIdentifier:
        return None


def _classify_digits(span: Span, context: _Context, today: date) -> Optional[Tuple[str, Any]]:
    groups = [token.text for token in span]
    if any(group.endswith(".") for group in groups[:-1]) or any(g.startswith("+") for g in groups[1:]):
        return None  # a full stop or a second "+" inside: two numbers, not one
    groups[-1] = groups[-1].rstrip(".")
    if "-" in groups[0]:  # 148385-40024
        return _national_id(groups[0].replace("-", ""))
    digits = "".join(groups).lstrip("+")
    sizes = [len(group.lstrip("+")) for group in groups]
    text = " ".join(groups)
    if groups[0].startswith("+") or (digits.startswith("00") and len(digits) >= 10):
        phone = nz.parse_phone(text)
        return ("phone", phone) if phone else None
    if not (6 <= len(digits) <= 8 or (len(digits) == 11 and sizes in ([11], [6, 5]))):
        return None
    kind = context.kind_near(span.start, span.end)
    if kind == "other":
        return None
    if len(digits) == 11:
        return _national_id(digits)
    phone_spaced = sizes in ([3, 2, 3], [2, 2, 2, 2]) and digits[0] in "49"
    if len(digits) == 8 and (kind == "phone" or phone_spaced):
        phone = nz.parse_phone(text)
        if phone:
            return ("phone", phone)
    single_token = len(groups) == 1
    if single_token and kind == "birth":
        # Announced as a birth date: an impossible date (310290) is no entity at all.
        born = nz.parse_birth_date(digits, today) if len(digits) in (6, 8) else None
        return ("birth_date", born.isoformat()) if born else None
    if single_token or kind == "case":
        return ("case_number", digits)
    return None


def _classify_calendar(text: str, span: Span, context: _Context, today: date) -> Optional[Tuple[str, Any]]:
    if len(span) == 1 and context.previous_text(span.start) in _CLOCK:
        return None
    if context.kind_near(span.start, span.end) == "birth":
        born = nz.parse_birth_date(text, today)
        return ("birth_date", born.isoformat()) if born else None
    when = nz.parse_date(text, today)
    if when is None:
        return None
    if abs(when - today) <= _PAYMENT_DATE_WINDOW:
        return ("date", when.isoformat())
    born = nz.parse_birth_date(text, today)
    return ("birth_date", born.isoformat()) if born else None


def _is_signed_or_foreign(span: Span, context: _Context) -> bool:
    return context.previous_text(span.start) in ("-", "minus", "+") or _is_foreign(span, context)


def _is_foreign(span: Span, context: _Context) -> bool:
    before, after = context.previous_text(span.start), context.next_word(span.end)
    return before in nz.FOREIGN_CURRENCY or after in nz.FOREIGN_CURRENCY


def _negative_amount(text: str) -> Optional[Tuple[str, Any]]:
    """A negative sum ("-500 kr", "minus 500 kr") is kept, negative, so that the plan flow can say
    plainly that it cannot use it instead of quietly quoting a plan of its own."""
    ore = nz.parse_amount_ore(re.sub(r"[-−]", "", text, count=1))
    return ("amount", -ore) if ore else None


def _is_rate(previous: str) -> bool:
    """Whether "a month" follows a sum ("200 a month", "kr 200 a month")."""
    return bool(re.search(r"[0-9]", previous)) or previous in nz.CURRENCY_WORDS or previous in nz.FOREIGN_CURRENCY


def _classify_bare_amount(text: str, span: Span, context: _Context) -> Optional[Tuple[str, Any]]:
    if len(span) == 1 and re.fullmatch(r"[0-9]{6,}\.?", span.text):
        return None  # six or more plain digits are an identifier, never a bare amount
    follower = context.next_word(span.end)
    if follower and follower not in _AMOUNT_FOLLOWERS and follower not in {",", ".", "!", "?"}:
        return None
    if not context.has_amount_word_before(span.start) or _is_signed_or_foreign(span, context):
        return None
    ore = nz.parse_amount_ore(text)
    return ("amount", ore) if ore is not None and ore >= _MIN_BARE_AMOUNT_ORE else None


def _classify(label: str, span: Span, text: str, context: _Context, today: date) -> Optional[Tuple[str, Any]]:
    if label == "DIGITS":
        return _classify_digits(span, context, today)
    if label == "CALENDAR":
        return _classify_calendar(text, span, context, today)
    if label == "RELATIVE":
        if context.kind_near(span.start, span.end) == "birth":
            return None  # "født den 14." is half a birth date, not a payment date
        if context.previous_text(span.start) in _PAST:
            return None
        when = nz.parse_date(text, today)
        return ("date", when.isoformat()) if when else None
    if label == "MONEY":
        if _is_foreign(span, context) or context.previous_text(span.start) == "+":
            return None
        if context.previous_text(span.start) in ("-", "minus"):
            return _negative_amount(text)
        ore = nz.parse_amount_ore(text)
        return ("amount", ore) if ore is not None else None
    if label == "NEGATIVE_MONEY":
        return None if _is_foreign(span, context) else _negative_amount(text)
    if label == "BARE_AMOUNT":
        return _classify_bare_amount(text, span, context)
    if label == "MONTHS":
        if context.next_word(span.end) in _NOT_A_PLAN_AFTER:
            return None
        if span[0].lower_ in ("a", "an") and _is_rate(context.previous_text(span.start)):
            return None  # "200 a month" is a monthly amount, not a one-month plan
        months = nz.parse_months(text)
        return ("months", months) if months is not None else None
    if label == "LANGUAGE":
        if context.previous_text(span.start) in _NEGATIONS:
            return None
        code = nz.parse_language(text)
        return ("language", code) if code else None
    return None


def _without_overlaps(found: List[Tuple[int, int, str, Any]]) -> List[Tuple[int, int, str, Any]]:
    """Longest span first, then the more specific entity; drop whatever overlaps a kept one."""
    kept: List[Tuple[int, int, str, Any]] = []
    for candidate in sorted(found, key=lambda f: (f[0] - f[1], _SPECIFICITY[f[2]], f[0])):
        if all(candidate[1] <= other[0] or candidate[0] >= other[1] for other in kept):
            kept.append(candidate)
    return sorted(kept)


def extract_entities(text: str, today: date) -> List[Dict[str, Any]]:
    """All entities in `text` as Rasa entity dicts (without the extractor name)."""
    if not text or not text.strip():
        return []
    nlp, matcher = _spacy_pipeline()
    written, written_origin = _written(text)
    work, work_origin = _prepare(written)
    origin = [written_origin[index] for index in work_origin]
    doc = nlp.make_doc(work)
    context = _Context(doc)
    found: List[Tuple[int, int, str, Any]] = []
    seen = set()
    for match_id, start, end in matcher(doc):
        label = nlp.vocab.strings[match_id]
        if (label, start, end) in seen:
            continue
        seen.add((label, start, end))
        span = doc[start:end]
        first, last = span.start_char, span.end_char
        original_start, original_end = origin[first], origin[last - 1] + 1
        # The normalisers read the span as written out ("14.3.1985", not "fjortende mars ...").
        span_text = written[work_origin[first] : work_origin[last - 1] + 1]
        result = _classify(label, span, span_text, context, today)
        if result is None:
            continue
        # A closing full stop or comma belongs to the sentence, not to the entity.
        while original_end > original_start + 1 and text[original_end - 1] in ".,:;!?)":
            original_end -= 1
        found.append((original_start, original_end, result[0], result[1]))
    return [
        {
            ENTITY_ATTRIBUTE_TYPE: entity,
            ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end,
            ENTITY_ATTRIBUTE_VALUE: value,
            "confidence": 1.0,
        }
        for start, end, entity, value in _without_overlaps(found)
    ]


def _overlap(theirs: Dict[str, Any], mine: Dict[str, Any]) -> bool:
    start, end = theirs.get(ENTITY_ATTRIBUTE_START, 0), theirs.get(ENTITY_ATTRIBUTE_END, 0)
    return start < mine[ENTITY_ATTRIBUTE_END] and mine[ENTITY_ATTRIBUTE_START] < end


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class NorwegianEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Rule-based extraction of case_number, national_id, birth_date, amount, date, months,
    phone and language, with values normalised (see the module docstring for the rules)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # Entity types to emit; None emits all of ENTITY_TYPES.
            "dimensions": None,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Creates the component; the spaCy pipeline is shared by every instance."""
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NorwegianEntityExtractor:
        """Creates a new component (see parent class for full docstring)."""
        _spacy_pipeline()  # build the matcher at load time, not on the first message
        return cls(config)

    @staticmethod
    def required_packages() -> List[Text]:
        """Lists required dependencies (see parent class for full docstring)."""
        return ["spacy", "phonenumbers", "babel"]

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds our entities to each message, replacing overlapping ones of the same type."""
        today = reference_today()
        dimensions = self._config["dimensions"]
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            ours = self.add_extractor_name(extract_entities(text, today))
            ours = self.filter_irrelevant_entities(ours, dimensions)
            existing = [
                entity
                for entity in message.get(ENTITIES, []) or []
                if entity.get(EXTRACTOR) != self.name
                and not any(
                    entity.get(ENTITY_ATTRIBUTE_TYPE) == mine[ENTITY_ATTRIBUTE_TYPE] and _overlap(entity, mine)
                    for mine in ours
                )
            ]
            message.set(ENTITIES, existing + ours, add_to_output=True)
        return messages
