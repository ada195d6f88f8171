"""Removes personal data from anything about to be stored or logged.

The project's one redactor: the tracker store, the logs, the case system (handoff summaries,
transcripts, notes, dispute reasons, rights requests), the caseworker console and the relay all
call it.

Identity numbers: eleven digits, together or in groups ("14838540024", "148385 40024",
"14.83.85 400 24"), that ARE one: a valid birth date, D-number (day + 40), H-number (month + 40)
or synthetic date (month + 80), and both control digits right under the rule before 2032 or the
one from 2032 (bot/identifiers.py decides; it refuses H-numbers as a
verification factor, so here their date is read by python-stdnum). Also removed: the exact value the debtor gave as their identity number
in the same events (the `national_id` slot when the verifying action used it), valid or not.
Account numbers (mod-11 on the last digit only), KIDs, case numbers and amounts are kept: the
payment instructions in a web chat's history and in a caseworker's transcript must read as sent.

Events about to be persisted (`redact_events`) lose, besides identity numbers:
- the SMS sender's number: the `sender_phone` key wherever it is (a user message's metadata, and
  Rasa's copy of the first message's metadata in the `session_started_metadata` slot), and any
  other metadata value written as an international phone number;
- the verification factors' slot values (`birth_date`, `national_id` become empty): they are
  used in the turn they were given, by the in-memory tracker, and never needed again;
- a birth date in a verification message, in its text, parse data and entities, and in any
  slot filled from that message (its digits fill `case_number` before the form reads them);
- the contact an unverified debtor gave for a handoff: the `handoff_contact` slot's value and the
  words of the message that answered the question for it (it is stored with the handoff).

A verification message is one the entity extractor found a `birth_date` in, or one that answered
the question for the birth date (`requested_slot` was `birth_date`): there the answer is redacted
wherever it reads as a birth date, including the six or eight bare digits that the extractor
calls a case number and the form reads as a date ("140385"). Dates in other messages are kept:
"jeg betalte 14.03" is the debtor's account of a payment, which a caseworker needs in the
transcript, and a payment date says nothing about who the debtor is. A birth date mentioned
outside verification without any birth word near it is therefore not found; that is the price of
not blanking every date in every conversation.

A caseworker's transcript (actions/conversation.py) passes each text through `redact_text`; the
tracker it is made from holds the earlier turns as the store returned them, redacted as above.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Collection, Iterable, Iterator, Optional, Pattern

from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer

from bot.identifiers import InvalidIdentifier, has_valid_control_digits, validate_national_id
from bot.nlu.normalisers import parse_birth_date, today_in_oslo

PLACEHOLDER = "[fødselsnummer fjernet]"
BIRTH_DATE_PLACEHOLDER = "[fødselsdato fjernet]"

# Digits joined by single separators: "14838540024", "148385 40024", "1234.56.78903", "14.03.2026".
DIGIT_GROUPS = re.compile(r"\d+(?:[ \u00a0.-]\d+)*")
GROUP_SEPARATOR = re.compile(r"[ \u00a0.-]")
# Eleven digits, however grouped, with no digit on either side: whatever might be an identity
# number (a quick test; a timestamp such as 1796568320.8341234 is not one).
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d(?:[ \u00a0.-]?\d){10}(?!\d)")
ID_LENGTH = 11
_H_NUMBER_MONTHS = range(41, 53)  # H-nummer: month + 40

# Slots holding a verification factor, or the contact an unverified debtor gave for a handoff;
# the action that uses each clears it in the same turn.
FACTOR_SLOTS = frozenset({"birth_date", "national_id", "handoff_contact"})
# The answer to the question for a handoff contact (a phone number or e-mail address) is kept
# with the handoff only; its message is stored without its words.
CONTACT_SLOTS = frozenset({"handoff_contact"})
CONTACT_PLACEHOLDER = "[kontaktopplysning fjernet]"
NATIONAL_ID_SLOT = "national_id"
VERIFYING_ACTION = "action_verify_identity"  # actions/verification.py
BIRTH_DATE_ENTITY = "birth_date"
# Metadata keys a channel fills with the sender's phone number (bot/channels/twilio_sms.py).
PHONE_METADATA_KEYS = frozenset({"sender_phone"})
SESSION_METADATA_SLOT = "session_started_metadata"  # Rasa's copy of the first message's metadata
E164 = re.compile(r"\+[1-9]\d{6,14}")
# Digits the extractor did not take as an entity, read as a birth date when they are one:
# "14 03 1985", "14 3 85", "19850314".
DIGIT_DATE = re.compile(r"(?<![\d.])\d{1,4}(?:[ \u00a0./-]+\d{1,4}){1,2}(?![\d])|(?<!\d)\d{6}(?:\d{2})?(?!\d)")


def is_identity_number(digits: str) -> bool:
    """Whether 11 digits are a fødselsnummer, D-number, H-number or synthetic test number."""
    if len(digits) != ID_LENGTH or not digits.isascii() or not digits.isdigit():
        return False
    if int(digits[2:4]) in _H_NUMBER_MONTHS:
        # Refused as a verification factor, an H-number still identifies a person.
        try:
            return has_valid_control_digits(digits) and fodselsnummer.get_birth_date(digits) <= date.today()
        except ValidationError:  # no such date (stdnum reads month + 40 as an H-number)
            return False
    try:
        validate_national_id(digits, allow_synthetic=True)
    except InvalidIdentifier:
        return False
    return True


def identity_number_spans(text: str, given: Collection[str] = ()) -> list[tuple[int, int]]:
    """Where `text` holds an identity number, or one of the `given` 11-digit values, written
    whole or in groups. A run of more than eleven digits without a break is not one."""
    spans = []
    for run in DIGIT_GROUPS.finditer(text):
        groups = [(run.start() + m.start(), run.start() + m.end()) for m in re.finditer(r"\d+", run.group())]
        first = 0
        while first < len(groups):
            digits, last = "", first
            while last < len(groups) and len(digits) < ID_LENGTH:
                digits += text[groups[last][0] : groups[last][1]]
                last += 1
            if len(digits) == ID_LENGTH and (digits in given or is_identity_number(digits)):
                spans.append((groups[first][0], groups[last - 1][1]))
                first = last
            else:
                first += 1
    return spans


def redact_text(
    text: str,
    patterns: Iterable[Pattern[str]] = (),
    *,
    given: Collection[str] = (),
    placeholder: str = PLACEHOLDER,
) -> str:
    """`text` with every identity number (and `given` value) replaced by `placeholder`, and then
    whatever the extra `patterns` match."""
    if ELEVEN_DIGITS.search(text):
        for start, end in reversed(identity_number_spans(text, given)):
            text = text[:start] + placeholder + text[end:]
    for pattern in patterns:
        text = pattern.sub(placeholder, text)
    return text


def redact(value: Any, patterns: Iterable[Pattern[str]] = (), *, given: Collection[str] = ()) -> Any:
    """A copy of `value` (JSON-like data) with every identity number in its strings replaced."""
    patterns = tuple(patterns)
    if isinstance(value, str):
        return redact_text(value, patterns, given=given)
    if isinstance(value, dict):
        return {key: redact(item, patterns, given=given) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, patterns, given=given) for item in value]
    return value


def given_national_ids(events: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The identity numbers the debtor gave in these serialised events: the `national_id` slot's
    value each time the verifying action ran. Any eleven digits fill that slot (an account
    number too), so only a value used to verify counts as given."""
    given, current = set(), None
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == NATIONAL_ID_SLOT:
            current = event.get("value")
        elif kind == "action" and event.get("name") == VERIFYING_ACTION and isinstance(current, str):
            digits = GROUP_SEPARATOR.sub("", current)
            if len(digits) == ID_LENGTH:
                given.add(digits)
    return frozenset(given)


# --- phone numbers in metadata -----------------------------------------------------------------


def without_phone_numbers(value: Any, in_metadata: bool = False) -> Any:
    """A copy of `value` without `sender_phone` keys anywhere, and, inside metadata, without any
    value that is a phone number in E.164."""
    if isinstance(value, dict):
        return {
            key: without_phone_numbers(item, in_metadata or key == "metadata")
            for key, item in value.items()
            if key not in PHONE_METADATA_KEYS and not (in_metadata and isinstance(item, str) and E164.fullmatch(item))
        }
    if isinstance(value, list):
        return [without_phone_numbers(item, in_metadata) for item in value]
    return value


# --- birth dates in a verification message -----------------------------------------------------


def _span(entity: dict[str, Any], text: str) -> Optional[tuple[int, int]]:
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return start, end
    return None


def birth_date_spans(
    text: str, entities: list[dict[str, Any]], answering_birth_date: bool, today: Optional[date] = None
) -> list[tuple[int, int]]:
    """Where `text` holds a birth date: the `birth_date` entities' spans and, in an answer to the
    birth-date question, any entity or digit group that reads as a birth date."""
    today = today or today_in_oslo()
    spans = []
    for entity in entities:
        span = _span(entity, text)
        if span is None:
            continue
        if entity.get("entity") == BIRTH_DATE_ENTITY or (
            answering_birth_date and parse_birth_date(text[span[0] : span[1]], today) is not None
        ):
            spans.append(span)
    if answering_birth_date:
        for match in DIGIT_DATE.finditer(text):
            candidate = match.group()
            digits = re.sub(r"\D", "", candidate)
            if parse_birth_date(candidate, today) is not None or (
                len(digits) in (6, 8) and parse_birth_date(digits, today) is not None
            ):
                spans.append(match.span())
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_birth_dates(
    text: str, entities: list[dict[str, Any]], answering_birth_date: bool, today: Optional[date] = None
) -> tuple[str, list[dict[str, Any]]]:
    """The text and its entities with every birth date replaced by BIRTH_DATE_PLACEHOLDER.

    Entities keep their type (the dialogue's memory of which entities a message had); one inside
    a removed span points at the placeholder and loses its value, the others keep pointing at
    their words. A `birth_date` entity without offsets (from a button payload) has its value
    removed from the text as written.
    """
    spans = birth_date_spans(text, entities, answering_birth_date, today)
    growth = len(BIRTH_DATE_PLACEHOLDER)

    def moved(position: int) -> int:
        """Where an original position outside every span is in the redacted text."""
        return position + sum(growth - (end - start) for start, end in spans if end <= position)

    redacted_entities = []
    for entity in entities:
        entity = dict(entity)
        span = _span(entity, text)
        covering = next(((start, end) for start, end in spans if span and start < span[1] and span[0] < end), None)
        if covering is not None:
            new_start = moved(covering[0])
            entity.update(start=new_start, end=new_start + growth, value=BIRTH_DATE_PLACEHOLDER)
        elif span is not None:
            entity.update(start=moved(span[0]), end=moved(span[1]))
        elif entity.get("entity") == BIRTH_DATE_ENTITY:
            entity["value"] = BIRTH_DATE_PLACEHOLDER
        redacted_entities.append(entity)

    pieces, cursor = [], 0
    for start, end in spans:
        pieces += [text[cursor:start], BIRTH_DATE_PLACEHOLDER]
        cursor = end
    redacted_text = "".join(pieces) + text[cursor:]
    for entity in entities:
        if entity.get("entity") == BIRTH_DATE_ENTITY and _span(entity, text) is None and entity.get("value"):
            redacted_text = redacted_text.replace(str(entity["value"]), BIRTH_DATE_PLACEHOLDER)
    return redacted_text, redacted_entities


# --- whole events ------------------------------------------------------------------------------


def _redact_user_event(event: dict[str, Any], answering_birth_date: bool, today: date) -> dict[str, Any]:
    parse_data = dict(event.get("parse_data") or {})
    entities = list(parse_data.get("entities") or [])
    text = event.get("text")
    if not isinstance(text, str):
        return event
    has_birth_date = any(entity.get("entity") == BIRTH_DATE_ENTITY for entity in entities)
    if not (has_birth_date or answering_birth_date):
        return event
    redacted_text, redacted_entities = redact_birth_dates(text, entities, answering_birth_date, today)
    if parse_data:
        parse_data["entities"] = redacted_entities
        if parse_data.get("text") == text:
            parse_data["text"] = redacted_text
    return {**event, "text": redacted_text, "parse_data": parse_data or event.get("parse_data")}


def _without_words(event: dict[str, Any]) -> dict[str, Any]:
    parse_data = dict(event.get("parse_data") or {})
    if parse_data:
        parse_data.update(text=CONTACT_PLACEHOLDER, entities=[])
    return {**event, "text": CONTACT_PLACEHOLDER, "parse_data": parse_data or event.get("parse_data")}


def redact_event(
    event: dict[str, Any],
    requested_slot: Optional[str] = None,
    patterns: Iterable[Pattern[str]] = (),
    today: Optional[date] = None,
    serialised: Optional[str] = None,
    given: Collection[str] = (),
) -> dict[str, Any]:
    """A copy of one serialised event fit to be stored. `requested_slot` is the slot the form
    had asked for when the event happened (for a user message: what it answered); `patterns`,
    extra expressions to remove; `given`, the identity numbers the debtor gave (see
    `given_national_ids`). `serialised`, the event as JSON without escapes if the caller has it,
    spares a walk through the event when nothing in it needs one."""
    patterns = tuple(patterns)
    kind, answering, today = event.get("event"), requested_slot == BIRTH_DATE_ENTITY, today or today_in_oslo()
    if serialised is None:
        serialised = json.dumps(event, ensure_ascii=False)
    if kind == "user":
        event = _redact_user_event(event, answering, today)
        if requested_slot in CONTACT_SLOTS:
            event = _without_words(event)
    elif kind == "slot" and (
        event.get("name") in FACTOR_SLOTS
        or (answering and isinstance(event.get("value"), str) and parse_birth_date(event["value"], today))
    ):
        # While the birth date is being answered, "140385" first fills case_number (its entity)
        # before the form reads it as the date.
        event = {**event, "value": None}
    elif kind == "entities" and any(e.get("entity") == BIRTH_DATE_ENTITY for e in event.get("entities") or []):
        event = {
            **event,
            "entities": [
                {**e, "value": BIRTH_DATE_PLACEHOLDER} if e.get("entity") == BIRTH_DATE_ENTITY else e
                for e in event["entities"]
            ],
        }
    if any(key in serialised for key in PHONE_METADATA_KEYS) or E164.search(serialised):
        if kind == "slot" and event.get("name") == SESSION_METADATA_SLOT:
            event = {**event, "value": without_phone_numbers(event.get("value"), in_metadata=True)}
        event = without_phone_numbers(event)
    if ELEVEN_DIGITS.search(serialised) or any(pattern.search(serialised) for pattern in patterns):
        event = redact(event, patterns, given=given)
    return event


def requested_slot_after(event: dict[str, Any], requested_slot: Optional[str]) -> Optional[str]:
    """The slot the form asks for once `event` has happened."""
    kind = event.get("event")
    if kind == "slot" and event.get("name") == "requested_slot":
        return event.get("value")
    if kind in ("session_started", "restart"):
        return None
    return requested_slot


def redact_events(
    events: Iterable[dict[str, Any]],
    requested_slot: Optional[str] = None,
    patterns: Iterable[Pattern[str]] = (),
    today: Optional[date] = None,
) -> Iterator[dict[str, Any]]:
    """Serialised events, in order, each as `redact_event` leaves it. `requested_slot` is the
    form's requested slot before the first of them (None at a session's start)."""
    events, patterns, today = list(events), tuple(patterns), today or today_in_oslo()
    given = given_national_ids(events)  # the message with the number comes before its use
    for event in events:
        yield redact_event(event, requested_slot, patterns, today, given=given)
        requested_slot = requested_slot_after(event, requested_slot)


_CARRIES_WHAT_THE_DEBTOR_GAVE = frozenset({"user", "slot", "entities", "session_started"})


def redact_serialised_events(
    rows: Iterable[str],
    patterns: Iterable[Pattern[str]] = (),
    today: Optional[date] = None,
) -> list[dict[str, Any]]:
    """`redact_events` over events as stored (JSON text) from a session's start, for rows that
    may have been stored before their kind of data was redacted. Only the kinds that carry what
    the debtor or the channel gave (user messages, slots, entities, session starts) are looked
    at: the others (actions, the assistant's messages) hold nothing of theirs, and looking
    through every event of every tracker on every turn cost a third of the read."""
    patterns, today = tuple(patterns), today or today_in_oslo()
    rows = list(rows)
    parsed = [json.loads(row) for row in rows]
    given = given_national_ids(parsed)
    events, requested_slot = [], None
    for row, event in zip(rows, parsed):
        if event.get("event") in _CARRIES_WHAT_THE_DEBTOR_GAVE:
            # Escapes (\u00a0) would hide what the patterns look for.
            serialised = json.dumps(event, ensure_ascii=False) if "\\" in row else row
            events.append(redact_event(event, requested_slot, patterns, today, serialised, given))
        else:
            events.append(event)
        requested_slot = requested_slot_after(event, requested_slot)
    return events
