"""Log lines are JSON with the caller's fields, and carry no personal data whoever writes them:
not Rasa's structlog events (which hold the debtor's message), not exception messages."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from bot import logs

MESSAGE = "saksnummer 100001, fødselsnummer 14838540024, ring meg på +47 912 34 567"


@pytest.fixture
def lines():
    """What the root logger writes, as parsed JSON lines, with logging set up as every process sets it."""
    saved = logging.getLogger().handlers[:], logging.getLogger().level
    logs.configure_logging("INFO")
    logs.configure_structlog(logging.INFO)
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().handlers[:], level = saved
    logging.getLogger().setLevel(level)
    structlog.reset_defaults()


def test_extra_fields_reach_the_line(lines) -> None:
    logging.getLogger("bot.case_system.api").info("GET /cases 200", extra={"route": "/cases", "status": 200})
    logging.getLogger("bot.x").warning("action failed", extra={"fields": {"action": "action_x"}})
    first, second = lines()
    assert first["route"] == "/cases" and first["status"] == 200 and first["level"] == "info"
    assert second["action"] == "action_x" and second["logger"] == "bot.x"


def test_rasa_rest_channel_events_lose_the_message_text(lines) -> None:
    # The events Rasa 3.6's REST channel logs when a client goes away or a turn fails.
    rest_logger = structlog.get_logger()
    rest_logger.error("rest.message.received.timeout", text=MESSAGE)
    try:
        raise ValueError(MESSAGE)
    except ValueError:
        rest_logger.exception("rest.message.received.failure", text=MESSAGE)
    timeout, failure = lines()
    assert timeout["message"] == "rest.message.received.timeout" and timeout["text"] == logs.REMOVED
    assert failure["message"] == "rest.message.received.failure" and failure["error"] == "ValueError"
    assert "test_logs.py" in failure["where"]
    for line in (timeout, failure):
        written = json.dumps(line, ensure_ascii=False)
        assert "14838540024" not in written and "100001" not in written and "912 34 567" not in written


def test_an_exception_is_logged_without_its_message(lines) -> None:
    try:
        {}[MESSAGE]
    except KeyError:
        logging.getLogger("rasa.core.processor").exception("Encountered an exception while running action")
    # Only this logger's line: another test's leftovers (a task garbage-collected now) may log too.
    (line,) = [line for line in lines() if line.get("logger") == "rasa.core.processor"]
    assert line["error"] == "KeyError" and line["traceback"]
    assert "fødselsnummer" not in json.dumps(line, ensure_ascii=False)


@pytest.mark.parametrize(
    "text, kept",
    [
        ("fnr 14838540024 and 148385 40024", "fnr [removed] and [removed]"),
        ("call +4791234567 or 91234567 or 0047 91234567", "call [removed] or [removed] or [removed]"),
        ("GET /status?token=abc-DEF_1&x=1", "GET /status?token=[removed]&x=1"),
        ("balance 2450.00 for case 100001 on 2026-08-15", "balance 2450.00 for case 100001 on 2026-08-15"),
    ],
)
def test_library_messages_are_scrubbed_of_numbers_and_tokens(text, kept) -> None:
    assert logs.scrub(text) == kept


def test_a_huge_message_is_cut(lines) -> None:
    logging.getLogger("spacy").error("text too long: %s", "x" * 2_000_000)
    (line,) = lines()
    assert len(line["message"]) < 1100 and line["message"].endswith("more characters]")
