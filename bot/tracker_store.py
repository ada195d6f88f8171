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

A turn's cost does not grow with the conversation (bot/tracker_cache.py): the store keeps the
conversations it last read or wrote, checks each against the database on every read (the rows
from its newest event on: one when nothing changed, and the events another replica stored
since, which are redacted and applied), and saves only the events the conversation did not
have. A new session, or a newest event that is gone (erased), reads the conversation afresh.

The database is read and written in a worker thread, so a replica's other conversations go on
while one waits for PostgreSQL. A conversation's reads and writes stay one at a time (a lock per
conversation, striped), as they were on the event loop: two reads of one conversation at once
(a turn and the web chat's history, say) must not both apply the same new events to its cache.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any, Iterator, Optional, Sequence, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.config import to_sync_url
from bot.redaction import redact_events, redact_serialised_events, requested_slot_after
from bot.tracker_cache import CachedConversation, TrackerCache, working_copy

# Conversations whose database work may run at once, per process (more than the worker threads).
CONVERSATION_LOCK_STRIPES = 64

# Rasa's `events` table is indexed by conversation only. A conversation's newest event, read on
# every turn, was then found by walking the primary key backwards through every later event of
# every other conversation (46 ms for a debtor back after 2,000 other events; more as the table
# grows), and the events after it by reading all of the conversation's index entries. With this
# index both are one probe. Created with the table, and on first use where the table is older.
CONVERSATION_EVENTS_INDEX = sa.Index(
    "ix_events_sender_id_id", SQLTrackerStore.SQLEvent.sender_id, SQLTrackerStore.SQLEvent.id
)


def create_conversation_events_index(engine: sa.engine.Engine) -> None:
    try:
        CONVERSATION_EVENTS_INDEX.create(engine, checkfirst=True)
    except sa.exc.SQLAlchemyError:
        # Another replica created it at the same moment; a second look finds it there.
        CONVERSATION_EVENTS_INDEX.create(engine, checkfirst=True)


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
        self.redact_patterns = tuple(re.compile(p) for p in redact_patterns)  # identity numbers always
        # SQLTrackerStore uses a `host` that is a complete URL as it is.
        super().__init__(domain=domain, host=to_sync_url(host), event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _tune_sqlite)
        create_conversation_events_index(self.engine)
        self.cache = TrackerCache()
        self._conversation_locks = tuple(threading.Lock() for _ in range(CONVERSATION_LOCK_STRIPES))

    def _conversation_lock(self, sender_id: Text) -> threading.Lock:
        return self._conversation_locks[hash(sender_id) % CONVERSATION_LOCK_STRIPES]

    def _redacted_since(
        self, tracker: DialogueStateTracker, offset: int, requested_slot: Optional[str]
    ) -> Iterator[Event]:
        """The tracker's events from number `offset` on, redacted, as events. `requested_slot` is
        the form's requested slot before event number `offset`."""
        events = list(tracker.events)[offset:]
        for data in redact_events((event.as_dict() for event in events), requested_slot, self.redact_patterns):
            event = Event.from_parameters(data)
            if event is not None:
                yield event

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return self._redacted_since(tracker, stored, _requested_slot_before(tracker, stored))

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        old_tracker = await self.retrieve(tracker.sender_id)
        offset = len(old_tracker.events) if old_tracker else 0  # as TrackerEventDiffEngine counts
        await self._stream_new_events(
            self.event_broker,
            list(self._redacted_since(tracker, offset, _requested_slot_before(tracker, offset))),
            tracker.sender_id,
        )

    def _read_rows(self, query: Any) -> list:
        """Every row a read of events fetches passes here (tests count them)."""
        return query.all()

    def _fresh_entry(self, session: Any, sender_id: Text) -> Optional[CachedConversation]:
        """The cached conversation when the store holds nothing newer than it, else None."""
        entry = self.cache.get(sender_id)
        if entry is None:
            return None
        newest = session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
        if newest == entry.last_event_id:
            return entry
        self.cache.drop(sender_id)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        await asyncio.to_thread(self._save, tracker)

    def _save(self, tracker: DialogueStateTracker) -> None:
        """Writes the events the store does not have yet, redacted. Which those are comes from
        the cached conversation when it is current (no count over the session's rows), else from
        Rasa's count; the cached conversation then takes the new events as stored."""
        sender_id = tracker.sender_id
        with self._conversation_lock(sender_id), self.session_scope() as session:
            entry = self._fresh_entry(session, sender_id)
            if entry is None:
                new_events = list(self._additional_events(session, tracker))
            else:
                new_events = list(self._redacted_since(tracker, len(entry.tracker.events), entry.requested_slot))
            rows = [self._row(sender_id, event) for event in new_events]
            session.add_all(rows)
            session.flush()  # gives the rows their ids
            stored_rows = [(row.id, row.data) for row in rows]
            session.commit()
            if entry is not None and stored_rows and not self._apply_stored(entry, stored_rows, redact=False):
                self.cache.drop(sender_id)

    def _row(self, sender_id: Text, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _apply_stored(self, entry: CachedConversation, rows: Sequence[tuple[int, str]], redact: bool = True) -> bool:
        """Brings the cached conversation up to date with stored rows (id, JSON) that follow it.
        False when they start a new session: which events `retrieve` returns then changes, and
        the conversation is loaded afresh."""
        parsed = [json.loads(data) for _, data in rows]
        if any(event.get("event") == SessionStarted.type_name for event in parsed):
            return False
        if redact:  # rows another replica wrote; this process's own were redacted on the way in
            parsed = list(redact_events(parsed, entry.requested_slot, self.redact_patterns))
        for data in parsed:
            event = Event.from_parameters(data)
            if event is not None:
                entry.tracker.update(event)
            entry.requested_slot = requested_slot_after(data, entry.requested_slot)
        entry.last_event_id = rows[-1][0]
        return True

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(self._read, sender_id, fetch_events_from_all_sessions)

    def _read(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self._conversation_lock(sender_id):
            return self._read_holding_lock(sender_id, fetch_events_from_all_sessions)

    def _read_holding_lock(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if fetch_events_from_all_sessions or not self.domain:
            return self._load(sender_id, fetch_events_from_all_sessions)
        entry = self.cache.get(sender_id)
        if entry is not None:
            with self.session_scope() as session:
                # The cached conversation's newest event and anything stored after it.
                rows = self._read_rows(
                    session.query(self.SQLEvent.id, self.SQLEvent.data)
                    .filter(self.SQLEvent.sender_id == sender_id, self.SQLEvent.id >= entry.last_event_id)
                    .order_by(self.SQLEvent.id)
                )
            if rows and rows[0].id == entry.last_event_id and (len(rows) == 1 or self._apply_stored(entry, rows[1:])):
                return working_copy(entry.tracker)
            self.cache.drop(sender_id)  # its newest event is gone (erased), or a new session began
        return self._load(sender_id, fetch_events_from_all_sessions=False)

    def _load(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """The conversation read in full and replayed; the latest session is cached."""
        with self.session_scope() as session:
            rows = self._read_rows(
                self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
                ).with_entities(self.SQLEvent.id, self.SQLEvent.data)
            )
        if not self.domain or not rows:
            return None
        events = redact_serialised_events([row.data for row in rows], self.redact_patterns)
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if fetch_events_from_all_sessions:
            return tracker
        requested_slot = None
        for data in events:
            requested_slot = requested_slot_after(data, requested_slot)
        self.cache.put(sender_id, CachedConversation(tracker, rows[-1].id, requested_slot))
        return working_copy(tracker)
