"""The action server gets the history actions read: every reader of the history in actions/*.py
and in rasa_sdk gives the same answer from the bounded payload as from the whole session, after
every user message of a long conversation, and the payload stops growing."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker

from actions.claims import _choice_offered
from actions.conversation import TRANSCRIPT_LIMIT, transcript
from actions.disputes import dispute_reason
from actions.handoff import _timestamp
from actions.rights import RIGHTS, request_message
from actions.turn import acknowledges_frustration
from actions.verification import awaits_birth_date, previous_value
from bot.action_payload import events_for_actions, tracker_state_for_actions
from bot.config import REPO_ROOT

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
