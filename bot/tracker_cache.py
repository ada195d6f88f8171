"""The trackers a dialogue-server process last read or wrote, so that a turn need not replay the
whole conversation from the tracker store.

An entry is the tracker as the store would return it (redacted events of the latest session) and
the id of the newest stored event it holds. The store checks an entry against the database on
every read (bot/tracker_store.py): events stored since by another replica are applied to it, and
an entry whose newest event is gone is dropped. Turns of one conversation are serialised by the
lock store, so no event of that conversation can be written between that check and the turn's
save. Entries are never handed out: callers get `working_copy`.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from typing import Optional

from rasa.shared.core.trackers import DialogueStateTracker

# Conversations kept per process (least recently used go first). A long conversation of 120 turns
# is about 1,700 events, a few megabytes; most conversations are a tenth of that.
MAX_CACHED_CONVERSATIONS = 1000


@dataclasses.dataclass
class CachedConversation:
    tracker: DialogueStateTracker
    last_event_id: int
    requested_slot: Optional[str]  # the form's requested slot after the last event, for redaction


class TrackerCache:
    def __init__(self, max_conversations: int = MAX_CACHED_CONVERSATIONS) -> None:
        self.max_conversations = max_conversations
        self._entries: OrderedDict[str, CachedConversation] = OrderedDict()
        self._guard = threading.Lock()  # the store's worker threads share the cache

    def get(self, sender_id: str) -> Optional[CachedConversation]:
        with self._guard:
            entry = self._entries.get(sender_id)
            if entry is not None:
                self._entries.move_to_end(sender_id)
            return entry

    def put(self, sender_id: str, entry: CachedConversation) -> None:
        with self._guard:
            self._entries[sender_id] = entry
            self._entries.move_to_end(sender_id)
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)

    def drop(self, sender_id: str) -> None:
        with self._guard:
            self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def working_copy(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A tracker in the same state that can be changed without changing `tracker`.

    Rasa's own `copy()` replays every event; this one shares the event objects, which are not
    changed once applied, except the latest user message: Rasa updates that one in place
    (`DefinePrevUserUtteredFeaturization`, `EntitiesAdded`), so it is copied. Slots (with their
    values), the active loop and the latest action are copied too."""
    duplicate = copy.copy(tracker)
    events = list(tracker.events)
    if tracker.latest_message is not None:
        message = copy.deepcopy(tracker.latest_message)
        for position in range(len(events) - 1, -1, -1):
            if events[position] is tracker.latest_message:
                events[position] = message
                break
        duplicate.latest_message = message
    duplicate.events = tracker._create_events(events)
    duplicate.slots = copy.copy(tracker.slots)  # keeps the class (AnySlotDict for a domain-less tracker)
    for name, slot in tracker.slots.items():
        duplicate.slots[name] = copy.copy(slot)
        duplicate.slots[name]._value = copy.deepcopy(slot._value)
    duplicate.active_loop = copy.deepcopy(tracker.active_loop)
    duplicate.latest_action = dict(tracker.latest_action) if tracker.latest_action is not None else None
    return duplicate
