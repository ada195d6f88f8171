"""A conversation with every kind of event that changes a tracker's state (forms, reverts,
pauses, resets, a restart), for tests that compare a tracker with its replay."""

from __future__ import annotations

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)


def user(text: str, intent: str = "ask_balance") -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9}, input_channel="socketio")


def conversation() -> list:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("language", "nb"),
        SlotSet("assistant_introduced", True),
        ActionExecuted("action_listen"),
        user("hei", "greet"),
        SlotSet("misunderstood", 1),
        ActionExecuted("verification_form"),
        ActiveLoop("verification_form"),
        SlotSet("requested_slot", "case_number"),
        BotUttered("Saksnummer?", metadata={"utter_action": "utter_ask_case_number"}),
        ActionExecuted("action_listen"),
        user("100001", "inform"),
        SlotSet("case_number", "100001"),
        UserUtteranceReverted(),
        user("100002", "inform"),
        ActionReverted(),
        FollowupAction("action_listen"),
        ConversationPaused(),
        ConversationResumed(),
        AllSlotsReset(),
        SlotSet("language", "en"),
        Restarted(),
        SlotSet("misunderstood", 2),
        ActionExecuted("action_listen"),
        user("this is ridiculous, how much do I owe"),
    ]
