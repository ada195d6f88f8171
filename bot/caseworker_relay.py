"""While a caseworker has a conversation, the assistant is silent (Rasa's ConversationPaused,
set by the backoffice when the handoff is taken) and each message the debtor sends goes to the
caseworker's console through the case system.

The message is in the tracker whatever happens here; the console reads the transcript from there
too. Forwarding is therefore done after the turn is logged, in the background, with a few
retries, so a slow case system never delays the debtor's channel.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Optional

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.case_system_client import Caller, CaseSystemClient, CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import CHANNELS
from bot.redaction import redact_text

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (0.5, 2.0, 5.0)


def debtor_message(tracker: DialogueStateTracker) -> Optional[UserUttered]:
    """The message this turn logged, if it is one the debtor wrote (not an internal command).
    Slots its entities filled may follow it; the dialogue has not listened since."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME:
            return None
        if isinstance(event, UserUttered):
            return event if event.text and not event.text.startswith("/") else None
    return None


class CaseworkerRelay:
    def __init__(self, case_system: CaseSystemClient) -> None:
        self.case_system = case_system
        self._tasks: set[asyncio.Task] = set()

    def forward(self, tracker: DialogueStateTracker) -> bool:
        """Sends the debtor's latest message to the console, in the background; whether there
        was one to send."""
        message = debtor_message(tracker)
        if message is None:
            return False
        at = datetime.fromtimestamp(message.timestamp, tz=timezone.utc).isoformat()
        channel = CHANNELS.get(message.input_channel or "", "rest")
        caller = Caller(conversation_id=tracker.sender_id, channel=channel, purpose="caseworker_takeover")
        task = asyncio.ensure_future(self._send(tracker.sender_id, redact_text(message.text), at, caller))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _send(self, conversation_id: str, text: str, at: str, caller: Caller) -> None:
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS_SECONDS)):
            await asyncio.sleep(delay)
            try:
                await self.case_system.record_debtor_message(conversation_id, text, at, caller=caller)
                return
            except CaseSystemRejected as rejected:
                # No active handoff: it was resolved meanwhile; the message stays in the tracker.
                log.info("debtor message not forwarded to a caseworker: %s", rejected.code)
                return
            except CaseSystemUnavailable:
                log.warning(
                    "debtor message not forwarded yet: case system unavailable",
                    extra={"fields": {"attempt": attempt + 1}},
                )
        log.error("debtor message not forwarded to the console; it is in the conversation's transcript")
