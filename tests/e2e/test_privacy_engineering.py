"""The privacy promises, proven on the running stack, on SQLite and on PostgreSQL.

One full conversation (verification with a national identity number, a balance, a privacy
question, a rights request, a handoff) runs through the three real processes, each writing its
output to a log file, and so does an SMS verification with the birth date (signed Twilio
webhooks in, replies to a local fake of Twilio's API); the stack is then stopped and what it left
behind is read directly:
- the tracker store's rows hold no national identity number anywhere (text, parse data,
  entities, slots), only the redaction placeholder where one was typed;
- nor the SMS sender's number (message and session metadata) or the birth date given by SMS;
- no log line of any process holds a demo debtor's identity number, phone number, name, birth
  date or any message the debtor typed;
- the case system audited every read of personal data (who, what, when, why) without values.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import aiohttp
import pytest
import requests
import sqlalchemy as sa
from aiohttp import web

from bot.case_system.domain.demo_data import DEBTORS
from bot.channels.conversation_ids import sms_conversation_id
from bot.config import Settings, to_sync_url
from bot.provisioning import prepare_case_system, train_model
from bot.redaction import PLACEHOLDER, is_identity_number
from bot.runner import Stack
from tests.e2e.conftest import free_port, isolated_settings
from tests.e2e.twilio_stack import ACCOUNT_SID, FROM_NUMBER
from tests.fakes.twilio_api import FakeTwilioApi, signed_post_args

pytestmark = [pytest.mark.stack]

KARI = DEBTORS[0]
# What the debtor types. Every one of these must stay out of every log line.
CONVERSATION = [
    "hei, jeg lurer på noe",
    "hva skylder jeg egentlig?",
    f"saksnummer 100001, fødselsnummer {KARI.national_id}",
    "hvor lenge lagrer dere opplysningene mine",
    "slett dataene mine",
    "adressen min er feil",
    f"jeg heter {KARI.first_name} {KARI.last_name} og nummeret mitt er {KARI.phone}",
    "det riktige er Lillegata 2",
    "jeg vil snakke med et menneske",
]
BIRTH_DATE_PLACEHOLDER = "[fødselsdato fjernet]"  # what a removed birth date leaves in a text
# Kari by SMS: her number is one verification factor, her birth date the other.
SMS_CONVERSATION = ["hva skylder jeg?", "100001", KARI.birth_date.strftime("%d.%m.%Y")]


def personal_values() -> list[str]:
    """Every demo debtor's identifiers and names, in the forms they may be written."""
    values = []
    for debtor in DEBTORS:
        values += [
            debtor.national_id,
            f"{debtor.national_id[:6]} {debtor.national_id[6:]}",
            debtor.phone,
            debtor.phone[3:],  # without +47
            debtor.birth_date.isoformat(),
            debtor.birth_date.strftime("%d.%m.%Y"),
        ]
    return values


NAMES = sorted({name for debtor in DEBTORS for name in (debtor.first_name, debtor.last_name)})
NAME_PATTERN = re.compile(r"\b(" + "|".join(NAMES) + r")\b")


@dataclass
class Outcome:
    settings: Settings
    sender: str
    replies: list[list[str]]
    log_lines: list[str]
    lines_per_process: dict[str, int]
    tracker_rows: list[dict]
    audit_rows: list[dict]
    sms_sender: str
    sms_replies: list[str]


def _say(settings: Settings, sender: str, text: str) -> list[str]:
    url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
    response = requests.post(url, json={"sender": sender, "message": text}, timeout=60)
    assert response.status_code == 200
    return [reply.get("text", "") for reply in response.json()]


async def _sms_conversation(settings: Settings, fake: FakeTwilioApi) -> list[str]:
    """SMS_CONVERSATION from Kari's number, each message signed as Twilio signs it; waits for
    the one SMS that answers each turn."""
    path = "/webhooks/twilio_sms/webhook"
    async with aiohttp.ClientSession() as http:
        for turn, body in enumerate(SMS_CONVERSATION, start=1):
            sid = "SM" + secrets.token_hex(16)
            fields = {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "SmsSid": sid,
                "AccountSid": ACCOUNT_SID,
                "From": KARI.phone,
                "To": FROM_NUMBER,
                "Body": body,
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
            args = signed_post_args(settings.public_base_url + path, fields, settings.twilio_auth_token)
            async with http.post(f"http://{settings.host}:{settings.rasa_port}{path}", **args) as response:
                assert response.status == 200
            await fake.wait_for(turn, timeout=60)
    return [message.body for message in fake.messages if message.to == KARI.phone]


def _rows(url: str, query: str) -> list[dict]:
    engine = sa.create_engine(to_sync_url(url), future=True)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outcome(request, tmp_path_factory) -> Iterator[Outcome]:
    root: Path = tmp_path_factory.mktemp(f"privacy-{request.param}")
    databases: list[str] = []
    if request.param == "sqlite":
        case_url, tracker_url = f"sqlite:///{root / 'cases.db'}", f"sqlite:///{root / 'tracker.db'}"
    else:
        from tests.bot.case_system.conftest import (
            create_postgres_database,
            drop_postgres_database,
            postgres_unreachable_reason,
        )

        reason = postgres_unreachable_reason()
        if reason:
            pytest.skip(reason)
        case_url = create_postgres_database("debtbot_privacy_cases")
        tracker_url = create_postgres_database("debtbot_privacy_tracker")
        databases = [case_url, tracker_url]
    fake_port = free_port()
    settings = isolated_settings(
        root,
        DATABASE_URL=case_url,
        TRACKER_STORE_URL=tracker_url,
        LOG_LEVEL="INFO",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=f"http://127.0.0.1:{fake_port}",
        SMS_DELIVERY_POLL_SECONDS="1",
        PUBLIC_BASE_URL="https://assistant.example.test",
    )
    train_model(settings)
    loop = asyncio.new_event_loop()
    fake = FakeTwilioApi(ACCOUNT_SID, settings.twilio_auth_token)
    fake_runner = web.AppRunner(fake.app())
    log_dir = root / "logs"
    stack = Stack(settings, log_dir=log_dir)
    # Letters only: a hex id can hold eleven digits in a row, which the identity-number search below would find.
    sender = "rest-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(16))
    try:
        loop.run_until_complete(fake_runner.setup())
        loop.run_until_complete(web.TCPSite(fake_runner, "127.0.0.1", fake_port).start())
        loop.run_until_complete(prepare_case_system(settings))
        loop.run_until_complete(stack.start())
        try:
            loop.run_until_complete(stack.wait_healthy(timeout_seconds=180))
            replies = [_say(settings, sender, text) for text in CONVERSATION]
            sms_replies = loop.run_until_complete(_sms_conversation(settings, fake))
        finally:
            loop.run_until_complete(stack.stop())  # every line is written once the processes ended
            loop.run_until_complete(fake_runner.cleanup())
        logs = {path.stem: path.read_text(errors="replace").splitlines() for path in sorted(log_dir.glob("*.log"))}
        yield Outcome(
            settings=settings,
            sender=sender,
            replies=replies,
            log_lines=[line for lines in logs.values() for line in lines],
            lines_per_process={name: len(lines) for name, lines in logs.items()},
            tracker_rows=_rows(tracker_url, "SELECT * FROM events ORDER BY id"),
            audit_rows=_rows(case_url, "SELECT * FROM audit_events ORDER BY id"),
            sms_sender=sms_conversation_id(settings.conversation_id_key, KARI.phone),
            sms_replies=sms_replies,
        )
    finally:
        loop.close()
        for url in databases:
            drop_postgres_database(url)


def test_the_conversation_was_verified_with_the_identity_number_and_went_on(outcome: Outcome) -> None:
    text = "\n".join(line for replies in outcome.replies for line in replies)
    assert "Du skylder nå" in text, outcome.replies  # verified: the balance was told
    assert "https://www.alektum.no/personvern" in text  # the privacy answer
    assert "PV-" in text  # the erasure request's reference
    assert text.count("PV-") == 2  # ... and the rectification's
    assert "Jeg har sendt saken til en saksbehandler" in text  # the handoff


def test_the_tracker_store_never_holds_a_national_identity_number(outcome: Outcome) -> None:
    rows = [row for row in outcome.tracker_rows if row["sender_id"] == outcome.sender]
    assert len(rows) > 20  # the whole conversation is there
    stored = json.dumps(rows, default=str, ensure_ascii=False)
    for debtor in DEBTORS:
        assert debtor.national_id not in stored
    # Eleven digits may be a KID, an account number or part of a message id; none is an identity number.
    eleven = (re.sub(r"\D", "", found) for found in re.findall(r"(?<!\d)\d{6}[ .\-]?\d{5}(?!\d)", stored))
    assert not [digits for digits in eleven if is_identity_number(digits)]
    user_texts = [json.loads(row["data"])["text"] for row in rows if row["type_name"] == "user"]
    assert f"saksnummer 100001, fødselsnummer {PLACEHOLDER}" in user_texts  # stored, but without the number
    slots = [json.loads(row["data"]) for row in rows if row["type_name"] == "slot"]
    assert all(slot.get("value") in (None, PLACEHOLDER) for slot in slots if slot.get("name") == "national_id")


def test_an_sms_verification_leaves_no_phone_number_and_no_birth_date_in_the_tracker_store(outcome: Outcome) -> None:
    assert "Du skylder nå" in outcome.sms_replies[-1], outcome.sms_replies  # verified by number and birth date
    rows = [row for row in outcome.tracker_rows if row["sender_id"] == outcome.sms_sender]
    assert len(rows) > 10
    # The assistant's own question gives 14.03.1985 as its example, which is Kari's birth date.
    said_by_the_debtor_or_kept = [row for row in outcome.tracker_rows if row["type_name"] != "bot"]
    stored = json.dumps([row for row in said_by_the_debtor_or_kept if row in rows], default=str, ensure_ascii=False)
    for written in (KARI.phone, KARI.phone[3:], "sender_phone"):
        assert written not in stored
    born = KARI.birth_date
    for written in (born.isoformat(), born.strftime("%d.%m.%Y"), born.strftime("%d%m%y")):
        assert written not in stored
    user_texts = [json.loads(row["data"])["text"] for row in rows if row["type_name"] == "user"]
    assert user_texts == ["hva skylder jeg?", "100001", BIRTH_DATE_PLACEHOLDER]
    slots = [json.loads(row["data"]) for row in rows if row["type_name"] == "slot"]
    assert all(slot["value"] is None for slot in slots if slot["name"] == "birth_date")
    # No birth date of any debtor in any conversation's rows either.
    everything = json.dumps(said_by_the_debtor_or_kept, default=str, ensure_ascii=False)
    for debtor in DEBTORS:
        assert debtor.birth_date.isoformat() not in everything
        assert debtor.birth_date.strftime("%d.%m.%Y") not in everything


def test_no_log_line_of_any_process_carries_personal_data(outcome: Outcome) -> None:
    assert len(outcome.log_lines) > 10
    assert set(outcome.lines_per_process) == {"backoffice", "actions", "dialogue"}
    assert all(count > 0 for count in outcome.lines_per_process.values())  # every process logged
    secrets_in_logs = []
    for line in outcome.log_lines:
        for value in personal_values():
            if value in line:
                secrets_in_logs.append((value, line[:200]))
        if NAME_PATTERN.search(line):
            secrets_in_logs.append(("name", line[:200]))
        for message in CONVERSATION:
            if len(message) > 6 and message in line:
                secrets_in_logs.append(("message", line[:200]))
    assert secrets_in_logs == []


def test_every_read_of_personal_data_was_audited_without_values(outcome: Outcome) -> None:
    mine = [row for row in outcome.audit_rows if row["conversation_id"] == outcome.sender]
    actions = [row["action"] for row in mine]
    assert "identity.verify" in actions and "case.read" in actions and "handoff.create" in actions
    assert actions.count("rights_request.create") == 2
    verify = next(row for row in mine if row["action"] == "identity.verify")
    assert (verify["outcome"], verify["detail"], verify["subject_id"]) == ("verified", "national_id", "100001")
    for row in mine:
        assert row["actor"] == "assistant:rest"  # who
        assert row["purpose"] not in ("", None, "unspecified")  # why
        assert row["at"] is not None  # when
    reads = [row for row in mine if row["action"] == "case.read"]
    assert reads and all(row["subject_id"] == "100001" for row in reads)  # what
    stored = json.dumps(outcome.audit_rows, default=str, ensure_ascii=False)
    for value in personal_values():
        assert value not in stored
    assert not NAME_PATTERN.search(stored)
