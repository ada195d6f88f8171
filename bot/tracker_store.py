"""Rasa's SQL tracker store, configured by one URL, that never persists a verification factor.

What is kept out of the database, and why the dialogue does not miss it (bot/redaction.py has
the rules): identity numbers anywhere; the SMS sender's number in message and session-start
metadata; the `birth_date` and `national_id` slot values; a birth date in a verification
message's text, parse data and entities.

Only what is stored is redacted: Rasa runs a whole turn on the tracker in memory, and the action
server receives that tracker, so the SMS verification still reads `sender_phone` from the
latest message and the verifying action still reads the factors it was given in that turn. The
next turn starts from the stored (redacted) events. A birth date given in an earlier turn than
the one that completes verification (volunteered before the case number was asked for) is
therefore asked for again: a second question is a smaller harm than keeping the date.
Trackers are redacted again when read, so rows written before this store redacted them do not
reach the dialogue, the web chat's history or a caseworker's transcript; and events streamed to
an event broker are redacted like the stored ones.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional, Sequence, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import to_sync_url
from bot.redaction import NATIONAL_ID_PATTERN, redact_events, redact_serialised_events, requested_slot_after


def _tune_sqlite(connection: Any, _record: Any) -> None:
    """Write-ahead log and fewer fsyncs: each turn's save costs a fraction of a millisecond
    instead of several. A crash of the machine (not of the process) can lose the last turns,
    which is acceptable for the embedded default; production uses PostgreSQL."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _requested_slot_before(tracker: DialogueStateTracker, index: int) -> Optional[str]:
    """The slot the form had asked for just before the tracker's event number `index`."""
    requested = None
    for position, event in enumerate(tracker.events):
        if position >= index:
            break
        name, value = (event.key, event.value) if isinstance(event, SlotSet) else (None, None)
        requested = requested_slot_after({"event": event.type_name, "name": name, "value": value}, requested)
    return requested


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Stores every event without the personal data listed in the module docstring.

    Configured in endpoints.yml with `url` (for example `postgresql://user@host/db` or
    `sqlite:///var/tracker.db`), which Rasa passes to a custom store as `host`, and optionally
    `redact_patterns`, a list of extra regular expressions to remove.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Text = "sqlite:///rasa.db",
        event_broker: Optional[EventBroker] = None,
        redact_patterns: Sequence[Text] = (),
        **kwargs: Any,
    ) -> None:
        self.redact_patterns = (NATIONAL_ID_PATTERN, *(re.compile(p) for p in redact_patterns))
        # SQLTrackerStore uses a `host` that is a complete URL as it is.
        super().__init__(domain=domain, host=to_sync_url(host), event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _tune_sqlite)

    def _redacted_since(self, tracker: DialogueStateTracker, offset: int) -> Iterator[Event]:
        """The tracker's events from number `offset` on, redacted, as events."""
        events = list(tracker.events)[offset:]
        requested_slot = _requested_slot_before(tracker, offset)
        for data in redact_events((event.as_dict() for event in events), requested_slot, self.redact_patterns):
            yield Event.from_parameters(data)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return self._redacted_since(tracker, stored)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        old_tracker = await self.retrieve(tracker.sender_id)
        offset = len(old_tracker.events) if old_tracker else 0  # as TrackerEventDiffEngine counts
        await self._stream_new_events(self.event_broker, list(self._redacted_since(tracker, offset)), tracker.sender_id)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            serialised = [row.data for row in rows]
        if not self.domain or not serialised:
            return None
        events = redact_serialised_events(serialised, self.redact_patterns)
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
