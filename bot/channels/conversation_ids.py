"""Conversation ids, unguessable and namespaced by channel.

No channel can join another channel's conversation: every id starts with its channel's prefix,
and each channel only ever makes ids with its own prefix. Verification lives in the
conversation, so it never carries across channels.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Optional

WEB_PREFIX, SMS_PREFIX, VOICE_PREFIX, REST_PREFIX = "web-", "sms-", "voice-", "rest-"
WEB_ID = re.compile(r"web-[0-9a-f]{32}")  # 128 random bits from the browser's crypto.getRandomValues
CALL_SID = re.compile(r"CA[0-9a-f]{32}")
REST_SENDER = re.compile(r"[A-Za-z0-9_.:@-]{1,150}")


def web_conversation_id(value: object) -> Optional[str]:
    """The web session id the page made, or None when it is not one (then nothing is joined)."""
    return value if isinstance(value, str) and WEB_ID.fullmatch(value) else None


def sms_conversation_id(key: str, e164: str) -> str:
    """A keyed hash of the sender's number: stable per number, the number itself never stored."""
    if not key:
        raise ValueError("CONVERSATION_ID_KEY is empty: SMS conversation ids would be guessable")
    return SMS_PREFIX + hmac.new(key.encode(), e164.encode(), hashlib.sha256).hexdigest()


def voice_conversation_id(call_sid: str) -> Optional[str]:
    return VOICE_PREFIX + call_sid if CALL_SID.fullmatch(call_sid or "") else None


def rest_conversation_id(sender: object) -> Optional[str]:
    """The REST channel's sender, always under `rest-` (a client's own prefix is kept, not doubled)."""
    if not isinstance(sender, str) or not REST_SENDER.fullmatch(sender):
        return None
    return sender if sender.startswith(REST_PREFIX) else REST_PREFIX + sender
