"""Rasa's `DialogueStateTracker.applied_events`, carried forward from the last call instead of
worked out over the whole session each time.

Rasa folds every event of the session into the list of applied events (undone turns, reverted
actions and the user turns inside a form's loop dropped) whenever it is asked: to check whether
the session expired, for every undone turn it replays, for the policies' states. That is several
passes over the whole history a turn, so a turn cost more the longer the conversation. Here the
fold of the events seen last time is kept per conversation (a few: the policies and forms ask
copies of the tracker too), and a later call on the same events plus new ones folds only the new
ones, with Rasa's own steps.

"The same events" means the very same event objects, in the same order, which the tracker
store's cache hands from turn to turn (bot/tracker_cache.py), or a few equal copies of them (a
working copy's latest user message). The fold of an event depends on the names of all loops the
session activates (Rasa collects them over the whole history first): when a new loop name
appears, the whole session is folded again, as Rasa does.
"""

from __future__ import annotations

import json
import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence, Text, Tuple

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

MAX_REMEMBERED = 3000  # conversations whose folds are kept, per process
# Folds kept per conversation: besides the tracker of the turn, its copies (a form's validation
# tracker, the policies' replay) are asked too, with histories of their own.
FOLDS_PER_CONVERSATION = 4
MAX_COPIES = 8  # equal copies in place of the folded events that still count as the same history

rasa_applied_events = DialogueStateTracker.applied_events  # Rasa's own, as the reference


@dataclass(frozen=True)
class _Fold:
    events: List[Event]  # the tracker's events folded, never changed once stored
    loop_names: FrozenSet[Text]
    applied: List[Event]  # never changed once stored


_folds: "OrderedDict[Text, Tuple[_Fold, ...]]" = OrderedDict()
_folds_lock = threading.Lock()  # the tracker store also works in worker threads


def loop_names(events: Sequence[Event]) -> FrozenSet[Text]:
    return frozenset(event.name for event in events if isinstance(event, ActiveLoop) and event.name)


def _fold(tracker: DialogueStateTracker, events: Sequence[Event], names: FrozenSet[Text], applied: List[Event]) -> None:
    """The loop of Rasa's `applied_events` (rasa/shared/core/trackers.py) over `events`, onto
    `applied`, with Rasa's own helpers for the undo steps."""
    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)


def same_event(a: Event, b: Event) -> bool:
    """The same event, or an equal one: a working copy of a tracker holds a copy of its latest
    user message (bot/tracker_cache.py), and the tracker store hands out events read back from
    the database, equal to the ones applied before."""
    if a is b:
        return True
    if type(a) is not type(b) or getattr(a, "use_text_for_featurization", None) != getattr(
        b, "use_text_for_featurization", None
    ):
        return False
    first, second = a.as_dict(), b.as_dict()
    # Read back from JSON, a message's token spans are lists where the parse left tuples.
    return first == second or _as_json(first) == _as_json(second)


def _as_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, default=repr)


def copies_in(done: Sequence[Event], events: Sequence[Event], limit: Optional[int] = None) -> Optional[List[int]]:
    """The positions where `events` hold an equal copy of an event of `done` rather than the event
    itself, when `events` start with `done`'s events (and at most `limit` copies); None otherwise."""
    if len(events) < len(done):
        return None
    identical = list(map(operator.is_, done, events))  # at C speed: this runs on every call
    positions: List[int] = []
    position = -1
    while True:
        try:
            position = identical.index(False, position + 1)
        except ValueError:
            return positions
        if len(positions) == limit or not same_event(done[position], events[position]):
            return None
        positions.append(position)


def _with_copies(applied: List[Event], done: List[Event], events: List[Event], positions: List[int]) -> List[Event]:
    """`applied` (folded from `done`) with the events at `positions` replaced by the tracker's own
    copies, as Rasa's fold of `events` has them."""
    applied = list(applied)
    for position in positions:
        # An applied event at `position` in the history is at or before `position` in `applied`.
        for index in range(min(position, len(applied) - 1), -1, -1):
            if applied[index] is done[position]:
                applied[index] = events[position]
                break
    return applied


def _continued(fold: _Fold, tracker: DialogueStateTracker, events: List[Event]) -> Optional[_Fold]:
    """`fold` carried on over the events appended since, or None when `events` do not continue
    the folded ones or bring a new loop name."""
    copies = copies_in(fold.events, events, limit=MAX_COPIES)  # more: quicker folded afresh
    if copies is None:
        return None
    done = len(fold.events)
    new = events[done:]
    if not loop_names(new) <= fold.loop_names:
        return None
    if not copies and not new:
        return fold
    applied = _with_copies(fold.applied, fold.events, events, copies)
    _fold(tracker, new, fold.loop_names, applied)
    return _Fold(events, fold.loop_names, applied)


def applied_events(self: DialogueStateTracker) -> List[Event]:
    events = list(self.events)
    with _folds_lock:
        folds = _folds.get(self.sender_id, ())
    carried = None
    for fold in folds:
        carried = _continued(fold, self, events)
        if carried is not None:
            break
    if carried is None:
        names = loop_names(events)
        applied: List[Event] = []
        _fold(self, events, names, applied)
        carried = _Fold(events, names, applied)
    # The latest first; the one it started from stays, for a copy that took another turn.
    kept = (carried,) + tuple(fold for fold in folds if fold is not carried)
    with _folds_lock:
        _folds[self.sender_id] = kept[:FOLDS_PER_CONVERSATION]
        _folds.move_to_end(self.sender_id)
        while len(_folds) > MAX_REMEMBERED:
            _folds.popitem(last=False)
    return list(carried.applied)  # callers may change the list they get


def install() -> None:
    DialogueStateTracker.applied_events = applied_events


def forget() -> None:
    with _folds_lock:
        _folds.clear()
