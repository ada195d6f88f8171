"""Structured logs: one JSON object per line, and no personal data, whoever writes the record.

Our own log calls never pass personal data. Libraries are not so careful: Rasa's REST channel
logs the debtor's whole message when a turn fails or the client goes away, and exception messages
may quote what was being processed. So every process logs through this module:

- Records become JSON with the fields given in `extra=` (as `fields` or as plain attributes).
- An exception is logged as its type and where it was raised, with the traceback's code lines
  but never its message or local variables.
- Every message and string field is scrubbed of identity numbers, phone numbers and `token=`
  values, and cut at MAX_MESSAGE_CHARACTERS.
- Rasa's structlog events keep their name and numbers; their other string values (the message
  text, parse data, slot values) are removed unless the key is known to be safe.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Optional

import structlog

from bot.redaction import redact_text

REMOVED = "[removed]"
MAX_MESSAGE_CHARACTERS = 1000
PHONE_NUMBER = re.compile(r"\+\d[\d ]{7,17}\d|(?<![\d.,])(?:0047 ?|47 ?)?[49]\d{7}(?![\d.,])")
TOKEN_VALUE = re.compile(r"((?:token|auth_token|api_key|key|password)=)[^&\s'\"]+", re.IGNORECASE)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Keys of Rasa's structlog events whose string values say nothing about the person.
SAFE_EVENT_KEYS = frozenset({"action_name", "policy_name", "intent_name", "model", "model_id", "prediction_source"})

# Loggers whose own handlers would bypass the root's formatter (Sanic configures its own).
LIBRARY_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "rasa", "rasa_sdk")


def scrub(text: str) -> str:
    text = redact_text(text, placeholder=REMOVED)
    text = PHONE_NUMBER.sub(REMOVED, text)
    text = TOKEN_VALUE.sub(r"\1" + REMOVED, text)
    if len(text) > MAX_MESSAGE_CHARACTERS:
        text = f"{text[:MAX_MESSAGE_CHARACTERS]} [cut: {len(text) - MAX_MESSAGE_CHARACTERS} more characters]"
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return scrub(str(value))


def exception_summary(exc_type: Optional[type], tb: Optional[TracebackType]) -> dict[str, Any]:
    """An exception as its type and the code it passed through, without its message."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    summary: dict[str, Any] = {"error": exc_type.__name__ if exc_type else "unknown"}
    if frames:
        summary["where"] = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}"
        summary["traceback"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-12:]]
    return summary


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        extra = {key: value for key, value in record.__dict__.items() if key not in STANDARD_ATTRIBUTES}
        fields = extra.pop("fields", None)
        if isinstance(fields, dict):
            extra.update(fields)
        for key, value in extra.items():
            if key not in entry and not key.startswith("_"):
                entry[key] = _scrub_value(value)
        if record.exc_info:
            entry.update(exception_summary(record.exc_info[0], record.exc_info[2]))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """The root logger writes JSON lines to stdout; library loggers go through it too."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    route_library_loggers()
    # aiohttp's access log would print query strings; our handlers log what is safe instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def route_library_loggers() -> None:
    """Sends the loggers that libraries give handlers of their own to the root's handler."""
    for name in LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers[:] = []
        library_logger.propagate = True
    logging.getLogger("sanic.access").setLevel(logging.WARNING)  # request lines carry query strings


# --- Rasa's structlog events ------------------------------------------------------------------


def drop_content(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Keeps an event's name, numbers and known-safe keys; every other value is removed."""
    for key, value in event_dict.items():
        if key in ("event", "exc_info") or key in SAFE_EVENT_KEYS:
            continue
        if not (isinstance(value, (bool, int, float)) or value is None):
            event_dict[key] = REMOVED
    return event_dict


def exception_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        event_dict.update(exception_summary(exc_info[0], exc_info[2]))
    return event_dict


def to_log_record(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The event as keyword arguments of a stdlib log call, its fields under `fields`."""
    event = str(event_dict.pop("event", ""))
    event_dict.pop("log_level", None)  # the record has its own level
    return {"msg": event, "extra": {"fields": event_dict}}


def configure_structlog(log_level: Optional[int] = None) -> None:
    """Rasa's structlog events, rendered by the stdlib handler above after `drop_content`."""
    level = log_level if isinstance(log_level, int) else logging.getLogger().getEffectiveLevel()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.dev.set_exc_info,
            drop_content,
            exception_fields,
            to_log_record,
        ],
        context_class=dict,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


def configure_rasa_logging() -> None:
    """Makes `rasa` (run in this process) log through this module: Rasa sets up its own logging
    and structlog when its command starts, so the function it calls for that is replaced."""
    import rasa.__main__  # here, not at the top: the backoffice and action server never load Rasa

    def configure(log_level: Optional[int] = None) -> None:
        # Rasa has put LOG_LEVEL (or its --debug/--verbose level) into the environment by now.
        level = logging.getLevelName(log_level) if isinstance(log_level, int) else os.environ.get("LOG_LEVEL", "INFO")
        configure_logging(level)
        configure_structlog(logging.getLevelName(level))

    rasa.__main__.configure_structlog = configure
