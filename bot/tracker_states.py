"""Rasa's dialogue states of a tracker's history, worked out once per event instead of once per
prediction.

Every action prediction (several a turn, by RulePolicy and MemoizationPolicy) asks the domain for
the state before each action of the whole session: Rasa replays every event into a fresh tracker
each time, so a prediction's cost grew with the conversation (about a third of a turn by turn
120). `states_for_tracker_history` below gives the same states, but keeps, per conversation and
kind of question, the replay and the states it has reached; a later question about the same
events plus new ones replays only the new ones. "The same events" means the very same event
objects in the same order (the tracker store's cache hands them from turn to turn,
bot/tracker_cache.py), or equal ones; anything else (an undone turn, another history) is worked
out in full.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Text

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

MAX_REMEMBERED = 3000  # (conversation, kind of question) pairs kept per process


@dataclass
class _Progress:
    events: List[Event]  # the applied events replayed so far
    replay: DialogueStateTracker  # a tracker that has had exactly those events applied
    raw: List[Event] = field(default_factory=list)  # the tracker's events they were applied from
    loop_names: Set[Text] = field(default_factory=set)  # forms and loops the tracker has activated
    states: List[State] = field(default_factory=list)  # the state before each of their actions
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False


_progress: "OrderedDict[tuple, _Progress]" = OrderedDict()
rasa_states_for_tracker_history = Domain.states_for_tracker_history  # Rasa's own, as the reference


def _key(domain: Domain, tracker: DialogueStateTracker, *flags: Any) -> tuple:
    return (id(domain), tracker.sender_id, json.dumps(flags, sort_keys=True, default=repr))


def _same(a: Event, b: Event) -> bool:
    """The same event, or an equal one: the tracker store hands out events read back from the
    database and a copy of the latest user message, equal to the ones applied before."""
    if a is b:
        return True
    if type(a) is not type(b) or getattr(a, "use_text_for_featurization", None) != getattr(
        b, "use_text_for_featurization", None
    ):
        return False
    first, second = a.as_dict(), b.as_dict()
    # Read back from JSON, a message's token spans are lists where the parse left tuples.
    return first == second or _as_json(first) == _as_json(second)


def _as_json(data: Dict[Text, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=repr)


def _starts_with(events: List[Event], done: List[Event]) -> bool:
    return len(events) >= len(done) and all(_same(a, b) for a, b in zip(events, done))


def _continues(progress: _Progress, applied: List[Event]) -> bool:
    return _starts_with(applied, progress.events)


# Events after which Rasa's `applied_events` may drop earlier events or start afresh.
_REWINDING = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)


def _applied_after_appending(progress: _Progress, events: List[Event]) -> Optional[List[Event]]:
    """`tracker.applied_events()` without going through the whole history when the tracker only
    has events appended since `progress` and none of them can rewind it (as in most turns);
    None otherwise."""
    done = progress.raw
    if not _starts_with(events, done):
        return None
    new = events[len(done) :]
    for event in new:
        if isinstance(event, _REWINDING) or (
            isinstance(event, ActionExecuted) and event.action_name in progress.loop_names
        ):
            return None
    return progress.events + new


def _state(
    domain: Domain,
    replay: DialogueStateTracker,
    hide_rule_turn: bool,
    progress: _Progress,
    states: List[State],
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: Optional[Dict[Text, Any]],
) -> Optional[State]:
    """One step of Rasa's `Domain.states_for_tracker_history` loop (rasa/shared/core/domain.py),
    with its loop variables kept in `progress`. None for a hidden rule turn."""
    if ignore_rule_only_turns:
        if not progress.turn_was_hidden:
            progress.last_ml_action_sub_state = domain._get_prev_action_sub_state(replay)
        if not replay.followup_action and not replay.latest_action_name == replay.active_loop_name:
            progress.turn_was_hidden = hide_rule_turn
        if progress.turn_was_hidden:
            return None
    state = domain.get_active_state(replay, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if progress.last_ml_action_sub_state:
            state[PREVIOUS_ACTION] = progress.last_ml_action_sub_state
    return domain._clean_state(state)


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[State]:
    key = _key(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    events = list(tracker.events)
    progress = _progress.get(key)
    applied = _applied_after_appending(progress, events) if progress is not None else None
    if applied is None:
        applied = tracker.applied_events()
        if progress is None or not _continues(progress, applied):
            progress = _Progress(events=[], replay=tracker.init_copy())
        progress.loop_names = {e.name for e in events if isinstance(e, ActiveLoop) and e.name}
    progress.raw = events
    _progress[key] = progress
    _progress.move_to_end(key)
    while len(_progress) > MAX_REMEMBERED:
        _progress.popitem(last=False)

    flags = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in applied[len(progress.events) :]:
        if isinstance(event, ActionExecuted):
            state = _state(self, progress.replay, event.hide_rule_turn, progress, progress.states, *flags)
            if state is not None:
                progress.states.append(state)
        progress.replay.update(event)
        progress.events.append(event)

    # The state after the last event changes with the next event: worked out each time, on a
    # copy of the loop variables, and not kept.
    final = _Progress(
        events=[],
        replay=progress.replay,
        last_ml_action_sub_state=progress.last_ml_action_sub_state,
        turn_was_hidden=progress.turn_was_hidden,
    )
    last = _state(self, progress.replay, False, final, progress.states, *flags)
    # Callers may change the states they get (the featurizer edits the last one's user input,
    # which may be the same dictionary as an earlier state's): copies.
    states = progress.states + ([last] if last is not None else [])
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def install() -> None:
    Domain.states_for_tracker_history = states_for_tracker_history


def forget() -> None:
    _progress.clear()
