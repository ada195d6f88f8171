"""What the dialogue server sends the action server: the tracker with the history actions read.

Rasa sends every custom action call the whole session's events (844 KB of JSON at turn 120 of a
conversation, serialised here and parsed there, twice a balance turn), so a turn cost more the
longer the conversation. The slots, the latest message, the active loop and the other top-level
fields are sent as Rasa sends them; of the events, `events_for_actions` keeps

- every event of the latest `TAIL_USER_TURNS` user turns (from the action just before the third
  latest user message): what rasa_sdk reads (the trailing slot candidates a validation action
  checks, the latest user message and input channel, the last executed actions) and what undo
  and rewind events in those turns refer to;
- and from before them, in their order, only what an action searches the history for (audited
  in actions/*.py; tests/bot/test_action_payload.py checks every reader on long conversations
  and fails when a new one appears):
  - the latest `TRANSCRIPT_LIMIT` messages (user or bot, with text): the handoff transcript
    (actions.conversation.transcript);
  - the latest user message of each intent: the dispute's reason and a rights request's own
    message are the latest message with that intent (actions.disputes, actions.rights);
  - the latest bot message of each response: "said once a session" checks (the frustration
    acknowledgement in actions.turn, the case choice offered in actions.claims);
  - the latest value set for each slot: a slot's value before the latest message
    (actions.verification.previous_value);
  - control events (session start, restart, resets, undo, rewind), rare and cheap.

Every reader gets the same answer from these events as from the whole session: the event it
looks for is kept wherever it is. The payload grows with the number of intents, responses and
slots in the domain, not with the conversation.

So that a call does not cost more the longer the conversation, where each key (intent, response,
slot), control event and recent message occurs is kept per conversation, and a later call on the
same events plus new ones looks only at the new ones.
"""

from __future__ import annotations

import operator
import threading
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from itertools import compress
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    AllSlotsReset,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from actions.conversation import TRANSCRIPT_LIMIT
from bot.action_domain import DIGEST_KEY, domain_digest

TAIL_USER_TURNS = 3
CONTROL_EVENTS = (SessionStarted, Restarted, AllSlotsReset, UserUtteranceReverted, ActionReverted)
MAX_REMEMBERED = 3000  # conversations whose indexes are kept, per process
# Indexes kept per conversation: actions are called with the turn's tracker and with copies of it
# that have events of their own (a form's validation), each continuing its own history.
INDEXES_PER_CONVERSATION = 4

Key = Tuple[str, Any]


def tail_start(events: Sequence[Event], user_turns: int = TAIL_USER_TURNS) -> int:
    """Index of the action before the `user_turns`-th latest user message (0 if fewer)."""
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == user_turns:
                return index - 1 if index > 0 and isinstance(events[index - 1], ActionExecuted) else index
    return 0


def is_message(event: Event) -> bool:
    return isinstance(event, (UserUttered, BotUttered)) and bool(event.text)


def _key_of(event: Event) -> Optional[Key]:
    """What an action may look for the latest of: a user message's intent, a bot message's
    response, a slot's value."""
    if isinstance(event, UserUttered):
        return ("intent", event.intent_name)
    if isinstance(event, BotUttered):
        return ("response", (event.metadata or {}).get("utter_action"))
    if isinstance(event, SlotSet):
        return ("slot", event.key)
    return None


@dataclass(frozen=True)
class _Index:
    """Where things occur in the events scanned; never changed once stored (the tracker store
    also works in worker threads), a longer history gets a new index."""

    events: List[Event]  # the events scanned
    occurrences: Dict[Key, List[int]]  # ascending positions of each key
    controls: List[int]  # positions of control events, ascending
    messages: Tuple[int, ...]  # positions of the latest `TRANSCRIPT_LIMIT` messages, ascending


_EMPTY = _Index(events=[], occurrences={}, controls=[], messages=())
_indexes: "OrderedDict[Text, Tuple[_Index, ...]]" = OrderedDict()
_indexes_lock = threading.Lock()


def _scan(event: Event) -> Tuple[Optional[Key], bool, bool]:
    """An event's key, whether it is a control event, whether it is a message."""
    return _key_of(event), isinstance(event, CONTROL_EVENTS), is_message(event)


def _extended(index: _Index, events: List[Event]) -> _Index:
    """`index` with the events after those it scanned (`events` continues them)."""
    added: Dict[Key, List[int]] = {}
    controls: List[int] = []
    messages: List[int] = []
    for position in range(len(index.events), len(events)):
        key, control, message = _scan(events[position])
        if key is not None:
            added.setdefault(key, []).append(position)
        if control:
            controls.append(position)
        if message:
            messages.append(position)
    occurrences = dict(index.occurrences)
    for key, positions in added.items():
        occurrences[key] = occurrences.get(key, []) + positions
    latest_messages = index.messages + tuple(messages)
    return _Index(
        events=events,
        occurrences=occurrences,
        controls=index.controls + controls if controls else index.controls,
        messages=latest_messages[max(0, len(latest_messages) - TRANSCRIPT_LIMIT) :],
    )


def _continues(index: _Index, events: List[Event]) -> bool:
    """Whether `events` start with the events `index` scanned: the same objects, or where one is
    another object, one `_scan` sees the same way. Rasa copies the tracker before every action,
    and the copy has a copy of the latest user message (bot/tracker_cache.py)."""
    done = index.events
    if len(events) < len(done):
        return False
    replaced = compress(zip(done, events), map(operator.is_not, done, events))
    return all(_scan(old) == _scan(new) for old, new in replaced)


def _index_for(conversation: Optional[Text], events: List[Event]) -> _Index:
    """The index of `events`: one of the conversation's latest carried on over the events appended
    since, or a new one (another history, or no conversation to remember it for)."""
    if conversation is None:
        return _extended(_EMPTY, events)
    with _indexes_lock:
        latest = _indexes.get(conversation, ())
    start = next((index for index in latest if _continues(index, events)), _EMPTY)
    index = _extended(start, events)  # the next call is checked against these very events
    with _indexes_lock:
        _indexes[conversation] = ((index,) + latest)[:INDEXES_PER_CONVERSATION]
        _indexes.move_to_end(conversation)
        while len(_indexes) > MAX_REMEMBERED:
            _indexes.popitem(last=False)
    return index


def _kept_before(index: _Index, start: int) -> List[int]:
    """Positions before `start` of the events kept from before the tail (see the module's
    docstring), ascending."""
    kept = set(index.controls[: bisect_left(index.controls, start)])
    # Of the latest `TRANSCRIPT_LIMIT` messages, those in the tail are sent with it: the others are
    # the ones kept before it.
    kept.update(position for position in index.messages if position < start)
    for positions in index.occurrences.values():
        before = bisect_left(positions, start)
        if before:
            kept.add(positions[before - 1])
    return sorted(kept)


def events_for_actions(events: Sequence[Event], conversation: Optional[Text] = None) -> List[Event]:
    """The events actions read, in their order (see the module's docstring). With a
    `conversation`, its index is kept for the next call."""
    events = list(events)
    index = _index_for(conversation, events)
    start = tail_start(events)
    return [events[position] for position in _kept_before(index, start)] + events[start:]


def tracker_state_for_actions(tracker: DialogueStateTracker) -> Dict[Text, Any]:
    """Rasa's `tracker.current_state(EventVerbosity.ALL)`, with only the events actions read."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in events_for_actions(tracker.events, tracker.sender_id)]
    return state


def action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> Dict[Text, Any]:
    """RemoteAction._action_call_format, sending `tracker_state_for_actions`, and the domain's
    digest instead of the domain (bot.action_domain sends the domain when it is asked for)."""
    import rasa

    return {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": tracker_state_for_actions(tracker),
        "version": rasa.__version__,
        DIGEST_KEY: domain_digest(domain),
    }


def install() -> None:
    RemoteAction._action_call_format = action_call_format


def forget() -> None:
    with _indexes_lock:
        _indexes.clear()
