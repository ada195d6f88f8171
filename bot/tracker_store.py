"""Rasa's SQL tracker store, configured by one URL and never persisting identity numbers."""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional, Sequence, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import to_sync_url
from bot.redaction import NATIONAL_ID_PATTERN, redact


def _tune_sqlite(connection: Any, _record: Any) -> None:
    """Write-ahead log and fewer fsyncs: each turn's save costs a fraction of a millisecond
    instead of several. A crash of the machine (not of the process) can lose the last turns,
    which is acceptable for the embedded default; production uses PostgreSQL."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Stores every event with identity numbers removed from text, parse data, entities and slots.

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

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(redact(event.as_dict(), self.redact_patterns))
