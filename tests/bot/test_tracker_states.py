"""The policies' states of a tracker's history, worked out incrementally, are Rasa's own states
after every event of a conversation with forms, rule turns, undone turns and a new session; and
a long conversation costs a prediction no more replay than a short one."""

from __future__ import annotations

import copy
import json

import pytest
from rasa.shared.core.constants import USER
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_states

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "ask_balance", "inform"],
        "entities": ["case_number"],
        "slots": {
            "verified": {"type": "bool", "mappings": [{"type": "custom"}]},
            "case_number": {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]},
            "requested_slot": {"type": "categorical", "values": ["case_number"], "mappings": [{"type": "custom"}]},
        },
        "forms": {"verification_form": {"required_slots": ["case_number"]}},
        "responses": {"utter_greet": [{"text": "hei"}], "utter_balance": [{"text": "saldo"}]},
        "actions": ["action_answer_topic"],
    }
)
FLAGS = [
    (False, False, None),
    (True, False, None),
    (False, True, {"slots": ["requested_slot"], "active_loops": ["verification_form"]}),
]


def user(intent: str, text: str = "tekst") -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9})


CONVERSATION = [
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
    user("greet", "hei"),
    DefinePrevUserUtteredFeaturization(False),
    ActionExecuted("utter_greet"),
    BotUttered("hei"),
    ActionExecuted("action_listen"),
    user("ask_balance"),
    ActionExecuted("verification_form"),
    ActiveLoop("verification_form"),
    SlotSet("requested_slot", "case_number"),
    ActionExecuted("action_listen"),
    user("inform", "100001"),
    SlotSet("case_number", "100001"),
    ActionExecuted("verification_form"),
    SlotSet("requested_slot", None),
    ActiveLoop(None),
    SlotSet("verified", True),
    ActionExecuted("action_answer_topic", hide_rule_turn=True),
    ActionExecuted("action_listen"),
    user("greet", "feil"),
    ActionExecuted("utter_greet"),
    UserUtteranceReverted(),  # the turn is undone
    ActionExecuted("action_listen"),
    user("ask_balance"),
    DefinePrevUserUtteredFeaturization(True),
    ActionExecuted("utter_balance"),
    ActionReverted(),
    ActionExecuted("action_answer_topic"),
    ActionExecuted("action_listen"),
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
    user("ask_balance"),
    ActionExecuted("utter_balance"),
    ActionExecuted("action_listen"),
]


@pytest.fixture(autouse=True)
def fresh_progress():
    tracker_states.forget()
    yield
    tracker_states.forget()


@pytest.mark.parametrize("flags", FLAGS)
def test_after_every_event_the_states_are_rasas_own(flags) -> None:
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION:
        tracker.update(event)
        expected = tracker_states.rasa_states_for_tracker_history(DOMAIN, tracker, *flags)
        assert tracker_states.states_for_tracker_history(DOMAIN, tracker, *flags) == expected


def test_another_history_for_the_same_conversation_is_worked_out_in_full() -> None:
    long = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:20]:
        long.update(event)
    tracker_states.states_for_tracker_history(DOMAIN, long)
    other = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:8] + [user("ask_balance"), ActionExecuted("utter_balance")]:
        other.update(event)
    assert tracker_states.states_for_tracker_history(DOMAIN, other) == tracker_states.rasa_states_for_tracker_history(
        DOMAIN, other
    )


def test_changing_the_returned_states_as_the_featurizers_do_changes_nothing_later() -> None:
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:9]:
        tracker.update(event)
    states = tracker_states.states_for_tracker_history(DOMAIN, tracker)
    for state in states:  # the featurizers delete the intent, text or entities of the user input
        state.get(USER, {}).clear()
        state.pop(USER, None)
    assert tracker_states.states_for_tracker_history(DOMAIN, tracker) == tracker_states.rasa_states_for_tracker_history(
        DOMAIN, tracker
    )


def test_the_states_a_rule_prediction_logs_are_formatted_as_rasa_formats_them_when_logged() -> None:
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:20]:
        tracker.update(event)
    states = tracker_states.states_for_tracker_history(DOMAIN, tracker)
    formatted = tracker_states.FormattedStates(states)
    assert copy.deepcopy(formatted) is formatted  # what RulePolicy does with it before logging
    assert str(formatted) == f"{formatted}" == tracker_states.rasa_format_tracker_states(states)
    assert "user intent: ask_balance" in str(formatted)


def test_a_prediction_late_in_a_long_conversation_replays_only_the_new_events(monkeypatch) -> None:
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:8]:
        tracker.update(event)
    replayed = []
    original_update = DialogueStateTracker.update

    def counting_update(self, event, domain=None):
        replayed.append(event)
        return original_update(self, event, domain)

    per_turn = []
    for _ in range(60):
        for event in (user("ask_balance"), ActionExecuted("utter_balance"), ActionExecuted("action_listen")):
            tracker.update(event)
        replayed.clear()
        monkeypatch.setattr(DialogueStateTracker, "update", counting_update)
        tracker_states.states_for_tracker_history(DOMAIN, tracker)
        monkeypatch.setattr(DialogueStateTracker, "update", original_update)
        per_turn.append(len(replayed))
    assert per_turn[1:] == [3] * 59


def test_a_tracker_read_back_from_the_store_continues_from_where_the_last_one_was(monkeypatch) -> None:
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:8]:
        tracker.update(event)
    for _ in range(40):
        for event in (user("ask_balance"), ActionExecuted("utter_balance"), ActionExecuted("action_listen")):
            tracker.update(event)
    tracker_states.states_for_tracker_history(DOMAIN, tracker)
    tracker.update(
        UserUttered(
            "hvor mye",
            intent={"name": "ask_balance", "confidence": 0.9},
            parse_data={"intent": {"name": "ask_balance", "confidence": 0.9}, "text_tokens": [(0, 4), (5, 8)]},
        )
    )
    tracker.update(ActionExecuted("utter_balance"))
    tracker_states.states_for_tracker_history(DOMAIN, tracker)
    # The next turn starts from the events as stored (JSON): equal events, other objects, lists
    # where the parse had tuples.
    stored = json.loads(json.dumps([event.as_dict() for event in tracker.events]))
    read_back = DialogueStateTracker.from_dict("states", stored, DOMAIN.slots)
    read_back.update(user("ask_balance"))
    replayed = []
    original_update = DialogueStateTracker.update
    monkeypatch.setattr(
        DialogueStateTracker,
        "update",
        lambda self, event, domain=None: replayed.append(event) or original_update(self, event, domain),
    )
    states = tracker_states.states_for_tracker_history(DOMAIN, read_back)
    monkeypatch.setattr(DialogueStateTracker, "update", original_update)
    assert len(replayed) == 1
    assert states == tracker_states.rasa_states_for_tracker_history(DOMAIN, read_back)


@pytest.mark.parametrize("flags", FLAGS)
def test_form_turns_and_fallbacks_late_in_a_long_conversation_replay_only_their_last_turn(monkeypatch, flags) -> None:
    # Inside a form's loop Rasa drops the user turns the form consumed, and a fallback undoes the
    # latest user turn: the applied events change before the end, and the replay resumes from the
    # checkpoint before that turn's action_listen.
    tracker = DialogueStateTracker("states", DOMAIN.slots)
    for event in CONVERSATION[:13]:  # the form is active and asks for the case number
        tracker.update(event)
    original_update = DialogueStateTracker.update
    replayed = []
    per_turn = []
    for number in range(80):
        if number % 3 == 2:  # a fallback: the turn is undone
            turn = [user("greet", f"hæ {number}"), ActionExecuted("action_default_fallback"), UserUtteranceReverted()]
        else:  # an answer the form asks again after
            turn = [
                user("inform", f"{number}"),
                ActionExecuted("verification_form"),
                SlotSet("requested_slot", "case_number"),
            ]
        for event in turn + [ActionExecuted("action_listen")]:
            tracker.update(event)
            replayed.clear()
            monkeypatch.setattr(
                DialogueStateTracker,
                "update",
                lambda self, event, domain=None: replayed.append(event) or original_update(self, event, domain),
            )
            states = tracker_states.states_for_tracker_history(DOMAIN, tracker, *flags)
            monkeypatch.setattr(DialogueStateTracker, "update", original_update)
            assert states == tracker_states.rasa_states_for_tracker_history(DOMAIN, tracker, *flags)
            per_turn.append(len(replayed))
    assert len(tracker.events) > 300
    assert max(per_turn[20:]) <= 4


def test_equal_states_are_kept_once_across_turns_and_conversations(monkeypatch) -> None:
    trackers = [DialogueStateTracker(sender, DOMAIN.slots) for sender in ("kari", "ola")]
    for tracker in trackers:
        for event in (
            CONVERSATION[:8]
            + [user("ask_balance"), ActionExecuted("utter_balance"), ActionExecuted("action_listen")] * 20
        ):
            tracker.update(event)
        assert tracker_states.states_for_tracker_history(
            DOMAIN, tracker
        ) == tracker_states.rasa_states_for_tracker_history(DOMAIN, tracker)
    kari, ola = (
        tracker_states._progress[tracker_states._key(DOMAIN, tracker, False, False, None)] for tracker in trackers
    )
    assert all(mine is theirs for mine, theirs in zip(kari.states, ola.states))
    assert len({id(state) for state in kari.states}) <= 8  # 63 states, a handful of distinct ones
    # With no room for more distinct states, new ones are kept as they are.
    monkeypatch.setattr(tracker_states, "MAX_DISTINCT_STATES", 0)
    tracker_states.forget()
    assert tracker_states.states_for_tracker_history(
        DOMAIN, trackers[0]
    ) == tracker_states.rasa_states_for_tracker_history(DOMAIN, trackers[0])
    assert not tracker_states._distinct_states
