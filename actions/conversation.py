"""Facts about the conversation that actions need: channel, caller, language, transcript."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from rasa_sdk import Tracker

from actions.case_system_client import Caller
from bot.case_system.contract.enums import Channel
from bot.redaction import redact_text

# Rasa's input channel names mapped to the channel names of the case system.
CHANNELS = {
    "socketio": Channel.WEB.value,
    "web": Channel.WEB.value,
    "twilio_sms": Channel.SMS.value,
    "twilio_voice": Channel.VOICE.value,
    "rest": Channel.REST.value,
}
TRANSCRIPT_LIMIT = 50  # most recent messages a caseworker receives with a handoff


def channel_of(tracker: Tracker) -> str:
    return CHANNELS.get(tracker.get_latest_input_channel() or "", Channel.REST.value)


def caller_for(tracker: Tracker, purpose: str) -> Caller:
    return Caller(conversation_id=tracker.sender_id, channel=channel_of(tracker), purpose=purpose)


def language_of(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "nb"


def sender_phone(tracker: Tracker) -> Optional[str]:
    """The SMS sender's number, which the SMS channel passes in the message metadata."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("sender_phone")


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """The conversation so far as a caseworker reads it, identity numbers removed."""
    lines = []
    for event in tracker.events:
        sender = {"user": "user", "bot": "bot"}.get(event.get("event"))
        if sender is None or not event.get("text"):
            continue
        at = datetime.fromtimestamp(event.get("timestamp") or 0, tz=timezone.utc)
        lines.append({"sender": sender, "text": redact_text(event["text"]), "at": at.isoformat()})
    return lines[-TRANSCRIPT_LIMIT:]
