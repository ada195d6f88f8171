"""Rasa's dialogue states of a tracker's history, worked out once per event instead of once per
prediction.

Every action prediction (several a turn, by RulePolicy and MemoizationPolicy) asks the domain for
the state before each action of the whole session: Rasa replays every event into a fresh tracker
each time, so a prediction's cost grew with the conversation (about a third of a turn by turn
120). `states_for_tracker_history` below gives the same states, but keeps, per conversation and
kind of question, the replay and the states it has reached; a later question about the same
applied events (bot/applied_events.py) plus new ones replays only the new ones. When the applied
events are the same only up to a point (a fallback undid the latest user turn; a form's loop
drops the user turns it consumed), the replay resumes from a checkpoint kept before each of the
latest few `action_listen`s. Anything else (another history) is worked out in full.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy
from rasa.shared.core.constants import ACTION_LISTEN_NAME, PREVIOUS_ACTION, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.applied_events import applied_events, copies_in

MAX_REMEMBERED = 3000  # (conversation, kind of question) pairs kept per process
# The latest `action_listen`s a replay can resume from: a fallback or a form step changes the
# applied events from the latest one on.
CHECKPOINTS = 2
# States repeat, turn after turn and across conversations (the same slots, the same previous
# action): each is kept once, so that the remembered histories take little memory.
MAX_DISTINCT_STATES = 100_000


@dataclass
class _Checkpoint:
    """The replay just before the applied event at `position` (an `action_listen`)."""

    position: int
    replay: DialogueStateTracker
    states: int
    last_ml_action_sub_state: Any
    turn_was_hidden: bool


@dataclass
class _Progress:
    events: List[Event]  # the applied events replayed so far
    replay: DialogueStateTracker  # a tracker that has had exactly those events applied
    states: List[State] = field(default_factory=list)  # the state before each of their actions
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False
    checkpoints: Deque[_Checkpoint] = field(default_factory=lambda: deque(maxlen=CHECKPOINTS))


_progress: "OrderedDict[tuple, _Progress]" = OrderedDict()
_distinct_states: Dict[tuple, State] = {}
rasa_states_for_tracker_history = Domain.states_for_tracker_history  # Rasa's own, as the reference
rasa_format_tracker_states = Policy.format_tracker_states


def _key(domain: Domain, tracker: DialogueStateTracker, *flags: Any) -> tuple:
    return (id(domain), tracker.sender_id, json.dumps(flags, sort_keys=True, default=repr))


def _snapshot(replay: DialogueStateTracker) -> DialogueStateTracker:
    """A copy of a replay tracker that replaying more events into `replay` leaves as it is.

    Replaying sets slots, the latest action and message anew rather than changing them, so
    those are shared; the active loop's flags are changed in place, so it is copied."""
    duplicate = copy.copy(replay)
    duplicate.events = replay._create_events(list(replay.events))
    duplicate.slots = copy.copy(replay.slots)
    for name, slot in replay.slots.items():
        duplicate.slots[name] = copy.copy(slot)
    duplicate.active_loop = copy.deepcopy(replay.active_loop)
    return duplicate


def _resumed(progress: _Progress, applied: List[Event]) -> Optional[_Progress]:
    """`progress` taken back to its latest checkpoint whose events `applied` starts with."""
    for checkpoint in reversed(progress.checkpoints):
        if copies_in(progress.events[: checkpoint.position], applied) is not None:
            kept = deque(
                (earlier for earlier in progress.checkpoints if earlier.position <= checkpoint.position),
                maxlen=CHECKPOINTS,
            )
            return _Progress(
                events=applied[: checkpoint.position],
                replay=_snapshot(checkpoint.replay),
                states=progress.states[: checkpoint.states],
                last_ml_action_sub_state=checkpoint.last_ml_action_sub_state,
                turn_was_hidden=checkpoint.turn_was_hidden,
                checkpoints=kept,
            )
    return None


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
    applied = applied_events(tracker)  # carried forward from the last call
    progress = _progress.get(key)
    copies = copies_in(progress.events, applied) if progress is not None else None
    if copies is None:
        progress = (progress and _resumed(progress, applied)) or _Progress(events=[], replay=tracker.init_copy())
    for position in copies or ():
        progress.events[position] = applied[position]  # so that the next call finds it identical
    _progress[key] = progress
    _progress.move_to_end(key)
    while len(_progress) > MAX_REMEMBERED:
        _progress.popitem(last=False)

    flags = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in applied[len(progress.events) :]:
        if isinstance(event, ActionExecuted):
            if event.action_name == ACTION_LISTEN_NAME:
                progress.checkpoints.append(
                    _Checkpoint(
                        len(progress.events),
                        _snapshot(progress.replay),
                        len(progress.states),
                        progress.last_ml_action_sub_state,
                        progress.turn_was_hidden,
                    )
                )
            state = _state(self, progress.replay, event.hide_rule_turn, progress, progress.states, *flags)
            if state is not None:
                progress.states.append(_shared(state))
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
    # Callers may change the states they get: the featurizers delete the intent, text or entities
    # from a state's user input (rasa/core/featurizers/tracker_featurizers.py), which may be the
    # same dictionary as an earlier state's. Each state and its user input are copies; the other
    # parts (slots, previous action, active loop) are only read, and shared.
    states = progress.states + ([last] if last is not None else [])
    return [_copy(state) for state in states]


def _shared(state: State) -> State:
    """The state kept before, when an equal one was (the kept states are never changed)."""
    try:
        key = tuple(sorted((name, tuple(sorted(sub_state.items()))) for name, sub_state in state.items()))
        known = _distinct_states.get(key)
    except TypeError:  # a value that cannot be hashed (a list): kept as it is
        return state
    if known is not None:
        return known
    if len(_distinct_states) < MAX_DISTINCT_STATES:
        _distinct_states[key] = state
    return state


def _copy(state: State) -> State:
    duplicate = dict(state)
    if USER in duplicate:
        duplicate[USER] = dict(duplicate[USER])
    return duplicate


class FormattedStates:
    """Rasa's `Policy.format_tracker_states(states)`, worked out when it is logged.

    RulePolicy formats the whole history of states for a debug log line on every prediction
    (and deep-copies the text), whether or not debug lines are kept: a cost that grew with the
    conversation for a line that is normally dropped."""

    def __init__(self, states: List[State]) -> None:
        self._states = states

    def __str__(self) -> str:
        return rasa_format_tracker_states(self._states)

    __repr__ = __str__

    def __deepcopy__(self, memo: Dict[int, Any]) -> "FormattedStates":
        return self  # the states are not changed after the prediction that logs them


def install() -> None:
    Domain.states_for_tracker_history = states_for_tracker_history
    Policy.format_tracker_states = staticmethod(FormattedStates)


def forget() -> None:
    _progress.clear()
    _distinct_states.clear()
