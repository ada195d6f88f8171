"""The action server gets the history actions read: every reader of the history in actions/*.py
and in rasa_sdk gives the same answer from the bounded payload as from the whole session, after
every user message of a long conversation, and the payload stops growing. The events are picked
from an index kept per conversation: after every event they are those a scan of the whole
session picks, and a call late in a long conversation looks only at the new events."""

from __future__ import annotations

import ast
import copy
import json
import random
from pathlib import Path
from typing import Any, List, Sequence, Set, Tuple

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker

from actions.claims import _choice_offered
from actions.conversation import TRANSCRIPT_LIMIT, transcript
from actions.disputes import dispute_reason
from actions.handoff import _timestamp
from actions.rights import RIGHTS, request_message
from actions.turn import acknowledges_frustration
from actions.verification import awaits_birth_date, previous_value
from bot import action_payload
from bot.action_payload import CONTROL_EVENTS, events_for_actions, is_message, tail_start, tracker_state_for_actions
from bot.config import REPO_ROOT
from bot.tracker_cache import working_copy

# Every function in actions/*.py that reads the history (audited for bot/action_payload.py).
HISTORY_READERS = {
    ("claims", "_choice_offered"),
    ("conversation", "transcript"),
    ("disputes", "dispute_reason"),
    ("handoff", "_timestamp"),
    ("rights", "request_message"),
    ("turn", "acknowledges_frustration"),
    ("verification", "previous_value"),
}
HISTORY_ATTRIBUTES = {
    "events",
    "applied_events",
    "get_last_event_for",
    "events_after_latest_restart",
    "idx_after_latest_restart",
    "last_executed_action_has",
}
SLOTS = ["case_number", "birth_date", "verification_outcome", "requested_slot", "misunderstood", "language"]


def user(text: str, intent: str, channel: str = "socketio", at: float = 0.0) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        parse_data={"intent_ranking": [{"name": intent, "confidence": 0.9}]},
        input_channel=channel,
        timestamp=at,
    )


def bot(text: str, response: str, at: float) -> BotUttered:
    return BotUttered(text, metadata={"utter_action": response}, timestamp=at)


def conversation(turns: int) -> list:
    """A long session: verification early (a refusal, a case choice offered, a dispute, a rights
    request, an acknowledged outburst), then balance questions; the channel changes late."""
    events = [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.0)]
    for turn in range(turns):
        at = 10.0 + turn
        channel = "twilio_sms" if turn > turns - 5 else "socketio"
        special = {
            1: ("saksnummer 100001", "inform", [SlotSet("case_number", "100001", timestamp=at)]),
            2: ("vil ikke", "deny", [SlotSet("verification_outcome", "refused", timestamp=at)]),
            3: ("hvilken sak", "ask_balance", [SlotSet("requested_slot", "birth_date", timestamp=at)]),
            4: ("dette er svindel", "dispute_claim", []),
            5: ("innsyn takk", "rights_access", []),
            6: ("01.01.1980", "inform", [SlotSet("birth_date", "1980-01-01", timestamp=at)]),
        }
        text, intent, slots = special.get(turn, (f"hvor mye skylder jeg {turn}", "ask_balance", []))
        if turn == turns - 1:
            text, intent = "dette er latterlig", "ask_balance"  # angry again: acknowledged once
        events += [ActionExecuted("action_listen", timestamp=at), user(text, intent, channel, at), *slots]
        events += [SlotSet("misunderstood", None, timestamp=at), ActionExecuted("action_answer_topic", timestamp=at)]
        if turn == 3:
            events += [bot("Hvilken sak?", "utter_choose_case", at)]
        if turn == 4:
            events += [bot("Jeg forstår.", "utter_acknowledge_frustration", at)]
        if turn == 6:
            events += [ActiveLoop("verification_form", timestamp=at), ActiveLoop(None, timestamp=at)]
        events += [
            bot(f"Du skylder {turn} kroner.", "utter_balance", at),
            ActionExecuted("action_listen", timestamp=at),
        ]
    return events


def sdk_tracker(state: dict) -> Tracker:
    return Tracker.from_dict(json.loads(json.dumps(state)))  # as the action server gets it


def readings(tracker: Tracker) -> dict:
    return {
        "transcript": transcript(tracker),
        "dispute_reason": dispute_reason(tracker),
        "requests": {kind: request_message(tracker, kind) for kind in RIGHTS},
        "choice_offered": _choice_offered(tracker),
        "frustration": acknowledges_frustration(tracker),
        "previous": {slot: previous_value(tracker, slot) for slot in SLOTS},
        "awaits_birth_date": awaits_birth_date(tracker),
        "timestamp": _timestamp(tracker),
        "channel": tracker.get_latest_input_channel(),
        "slots_to_validate": tracker.slots_to_validate(),
        "last_action": tracker.get_last_event_for("action", exclude=["action_listen"]),
        "last_user": tracker.get_last_event_for("user"),
        "latest_event_time": tracker.current_state()["latest_event_time"],
    }


def test_every_reader_gets_the_same_answer_from_the_payload_as_from_the_whole_session() -> None:
    events = conversation(90)
    checked = 0
    for end in range(1, len(events) + 1):
        if not isinstance(events[end - 1], (UserUttered, SlotSet)):
            continue
        tracker = DialogueStateTracker.from_events("debtor", events[:end])
        full = sdk_tracker(tracker.current_state(EventVerbosity.ALL))
        sent = sdk_tracker(tracker_state_for_actions(tracker))
        assert readings(sent) == readings(full), f"after event {end}"
        assert {key: value for key, value in sent.current_state().items() if key != "events"} == {
            key: value for key, value in full.current_state().items() if key != "events"
        }
        checked += 1
    assert checked > 100
    # The conversation does test the bound: a transcript of the limit, well before its end.
    assert len(transcript(full)) == TRANSCRIPT_LIMIT and acknowledges_frustration(full) is False


def test_the_payload_does_not_grow_with_the_conversation() -> None:
    at_100 = events_for_actions(conversation(100))
    at_300 = events_for_actions(conversation(300))
    assert len(at_300) == len(at_100) < len(conversation(100)) / 4
    assert events_for_actions(conversation(2)) == conversation(2)  # a short session is sent whole


def test_the_audited_readers_are_all_the_readers_of_the_history() -> None:
    found = set()
    for path in sorted((Path(REPO_ROOT) / "actions").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and node.attr in HISTORY_ATTRIBUTES:
                    found.add((path.stem, function.name))
    assert found == HISTORY_READERS, "a new reader of the history: check bot/action_payload.py keeps what it reads"


@pytest.fixture(autouse=True)
def no_index():
    action_payload.forget()
    yield
    action_payload.forget()


def events_for_actions_in_full(events: Sequence[Event]) -> List[Event]:
    """The events actions read, by a scan of the whole session (the reference)."""
    events = list(events)
    start = tail_start(events)
    messages = sum(1 for event in events[start:] if is_message(event))
    seen: Set[Tuple[str, Any]] = set()
    earlier: List[Event] = []
    for event in reversed(events[:start]):
        keep = isinstance(event, CONTROL_EVENTS)
        if is_message(event) and messages < TRANSCRIPT_LIMIT:
            messages += 1
            keep = True
        if isinstance(event, UserUttered):
            key: Tuple[str, Any] = ("intent", event.intent_name)
        elif isinstance(event, BotUttered):
            key = ("response", (event.metadata or {}).get("utter_action"))
        elif isinstance(event, SlotSet):
            key = ("slot", event.key)
        else:
            key = ("", None)
        if key[0] and key not in seen:
            seen.add(key)
            keep = True
        if keep:
            earlier.append(event)
    earlier.reverse()
    return earlier + events[start:]


def assert_same_events(got: List[Event], expected: List[Event]) -> None:
    assert list(map(id, got)) == list(map(id, expected))


INTENTS = ["inform", "deny", "ask_balance", "dispute_claim", "rights_access", None]
RESPONSES = ["utter_balance", "utter_choose_case", "utter_acknowledge_frustration", "utter_ask_birth_date"]
CONTROLS = [SessionStarted, Restarted, AllSlotsReset, UserUtteranceReverted, ActionReverted]


def random_user(rng: random.Random, at: float) -> UserUttered:
    text = rng.choice(["hvor mye skylder jeg", "100001", "", None])  # some messages without text
    intent = rng.choice(INTENTS)
    return UserUttered(text, intent={"name": intent, "confidence": 0.9} if intent else None, timestamp=at)


def random_step(rng: random.Random, at: float) -> Event:
    """An event of a turn after the user message: mostly bot messages, slots and actions, now and
    then a form, an undo or a new session."""
    roll = rng.random()
    if roll < 0.3:
        metadata = rng.choice([{"utter_action": response} for response in RESPONSES] + [{}, None])
        return BotUttered(rng.choice(["Du skylder 10 kroner.", "", None]), metadata=metadata, timestamp=at)
    if roll < 0.55:
        return SlotSet(rng.choice(SLOTS), rng.choice(["100001", "refused", None]), timestamp=at)
    if roll < 0.75:
        return ActionExecuted(rng.choice(["action_answer_topic", "verification_form", "utter_balance"]), timestamp=at)
    if roll < 0.85:
        return ActiveLoop(rng.choice(["verification_form", None]), timestamp=at)
    if roll < 0.93:
        return random_user(rng, at)
    return rng.choice(CONTROLS)(timestamp=at)


def random_conversation(seed: int, turns: int) -> List[Event]:
    rng = random.Random(seed)
    events: List[Event] = [ActionExecuted("action_session_start", timestamp=0.0), SessionStarted(timestamp=0.0)]
    for turn in range(turns):
        at = float(turn + 1)
        events += [ActionExecuted("action_listen", timestamp=at), random_user(rng, at)]
        events += [random_step(rng, at) for _ in range(rng.randint(0, 5))]
    return events


def new_tracker(sender_id: str = "debtor") -> DialogueStateTracker:
    return DialogueStateTracker(sender_id, [AnySlot(name, mappings=[{"type": "custom"}]) for name in SLOTS])


@pytest.mark.parametrize("seed", range(6))
def test_after_every_event_the_index_picks_what_a_scan_of_the_whole_session_picks(seed: int) -> None:
    events = random_conversation(seed, turns=150)
    tracker = new_tracker()
    for end, event in enumerate(events, start=1):
        tracker.update(event)
        expected = events_for_actions_in_full(tracker.events)
        assert_same_events(events_for_actions(tracker.events, tracker.sender_id), expected)
        assert_same_events(events_for_actions(events[:end], "as a list"), events_for_actions_in_full(events[:end]))
        # Rasa copies the tracker before every action; the copy has its own latest user message.
        duplicate = working_copy(tracker)
        assert_same_events(events_for_actions(duplicate.events, "copied"), events_for_actions_in_full(duplicate.events))
        if end % 25 == 0:
            assert tracker_state_for_actions(tracker)["events"] == [event.as_dict() for event in expected]
    # The conversations do test the bounds: more messages than the transcript keeps, undone turns.
    assert sum(map(is_message, events)) > 2 * TRANSCRIPT_LIMIT
    assert any(isinstance(event, (UserUtteranceReverted, ActionReverted)) for event in events)


def test_another_history_for_the_same_conversation_is_picked_from_in_full() -> None:
    events = random_conversation(7, turns=120)
    middle = len(events) // 2
    user_at = next(position for position in range(middle, len(events)) if isinstance(events[position], UserUttered))
    slot_at = next(position for position in range(middle, len(events)) if isinstance(events[position], SlotSet))
    other_intent = copy.deepcopy(events[user_at])
    other_intent.intent = {"name": "a_new_intent", "confidence": 0.9}
    other_slot = SlotSet("a_new_slot", "verdi")
    others = [
        events[:middle],  # rewound
        events[: middle // 2] + random_conversation(8, turns=60),  # another history from there
        events[:user_at] + [other_intent] + events[user_at + 1 :],  # an event with another intent in its place
        events[:slot_at] + [other_slot] + events[slot_at + 1 :],
        random_conversation(9, turns=150),
    ]
    for other in others:
        events_for_actions(events, "debtor")
        assert_same_events(events_for_actions(other, "debtor"), events_for_actions_in_full(other))
        tracker = new_tracker("debtor")
        for event in other:
            tracker.update(event)
        events_for_actions(events, "debtor")
        assert_same_events(events_for_actions(tracker.events, "debtor"), events_for_actions_in_full(tracker.events))


@pytest.mark.parametrize("turns", [50, 500])
def test_a_call_late_in_a_long_conversation_looks_only_at_the_new_events(turns: int, monkeypatch) -> None:
    events = conversation(turns + 1)
    last_turn = max(position for position, event in enumerate(events) if isinstance(event, UserUttered)) - 1
    tracker = DialogueStateTracker.from_events("debtor", events[:last_turn])
    tracker_state_for_actions(tracker)
    looked_at = []
    scan = action_payload._scan
    monkeypatch.setattr(action_payload, "_scan", lambda event: looked_at.append(event) or scan(event))
    for event in events[last_turn:]:
        tracker.update(event)
    tracker_state_for_actions(tracker)
    assert looked_at == events[last_turn:]
    # A copy of the tracker (its own latest user message) looks at that message too, as before and now.
    looked_at.clear()
    duplicate = working_copy(tracker)
    assert_same_events(events_for_actions(duplicate.events, "debtor"), events_for_actions_in_full(duplicate.events))
    assert len(looked_at) == 2


def test_the_indexes_kept_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(action_payload, "MAX_REMEMBERED", 2)
    events = conversation(5)
    for sender_id in ["a", "b", "c"]:
        events_for_actions(events, sender_id)
    assert list(action_payload._indexes) == ["b", "c"]


def test_a_copy_with_events_of_its_own_called_in_turn_with_the_tracker_looks_only_at_new_events(monkeypatch) -> None:
    # A form validates on a copy of the turn's tracker with the slots it extracted appended; the
    # turn's own tracker is called again afterwards, without them.
    events = conversation(200)
    tracker = DialogueStateTracker.from_events("debtor", events)
    tracker_state_for_actions(tracker)
    looked_at = []
    scan = action_payload._scan
    monkeypatch.setattr(action_payload, "_scan", lambda event: looked_at.append(event) or scan(event))
    for number in range(20):
        validating = working_copy(tracker)
        validating.update(SlotSet("case_number", f"10000{number}"))
        assert_same_events(
            events_for_actions(validating.events, "debtor"), events_for_actions_in_full(validating.events)
        )
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"svar {number}", intent={"name": "inform", "confidence": 0.9}))
        assert_same_events(events_for_actions(tracker.events, "debtor"), events_for_actions_in_full(tracker.events))
    # A few a round (the new events, and the copied message and appended slot when checking which
    # kept index continues), against 1,000-odd events in the session.
    assert len(looked_at) <= 20 * 10
