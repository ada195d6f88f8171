"""SMS text rules: GSM-7 safe, one SMS per turn where it fits, buttons as numbered choices;
conversation ids namespaced and unguessable."""

from __future__ import annotations

import pytest

from bot.channels.common import Reply
from bot.channels.conversation_ids import (
    rest_conversation_id,
    sms_conversation_id,
    voice_conversation_id,
    web_conversation_id,
)
from bot.channels.gsm7 import is_gsm7, to_gsm7
from bot.channels.twilio_sms import compose_sms


def test_norwegian_money_quotes_dashes_and_emoji_become_gsm7():
    text = "Du skylder nå 2\u00a0450,00\u202fkr \u2013 «betal» \u201cnå\u201d \U0001f600 æøå ÆØÅ"
    safe = to_gsm7(text)
    assert safe == 'Du skylder nå 2 450,00 kr - "betal" "nå"  æøå ÆØÅ'
    assert is_gsm7(safe) and not is_gsm7(text)


def test_a_turn_is_one_sms_with_numbered_choices():
    replies = [
        Reply(text="Takk, nå har jeg bekreftet hvem du er."),
        Reply(
            text="Vil du at jeg setter deg over?",
            buttons=[{"title": "Ja, takk", "payload": "/affirm"}, {"title": "Nei takk", "payload": "/deny"}],
        ),
    ]
    assert compose_sms(replies) == [
        "Takk, nå har jeg bekreftet hvem du er.\n\nVil du at jeg setter deg over?\n\n1) Ja, takk  2) Nei takk"
    ]


def test_a_turn_longer_than_1600_characters_is_split_between_paragraphs_in_order():
    first, second = "a " * 500, "b " * 500
    bodies = compose_sms([Reply(text=first.strip()), Reply(text=second.strip())])
    assert len(bodies) == 2 and bodies[0].startswith("a") and bodies[1].startswith("b")
    assert all(len(body) <= 1600 for body in bodies)
    one_long = compose_sms([Reply(text="ord " * 1000)])
    assert len(one_long) == 3 and all(len(body) <= 1600 for body in one_long)


def test_conversation_ids_are_namespaced_by_channel():
    assert sms_conversation_id("key", "+4791234567").startswith("sms-")
    assert sms_conversation_id("key", "+4791234567") != sms_conversation_id("other", "+4791234567")
    assert "91234567" not in sms_conversation_id("key", "+4791234567")
    with pytest.raises(ValueError):
        sms_conversation_id("", "+4791234567")
    assert voice_conversation_id("CA" + "a" * 32) == "voice-CA" + "a" * 32
    assert voice_conversation_id("sms-123") is None
    assert web_conversation_id("web-" + "0f" * 16) == "web-" + "0f" * 16
    assert web_conversation_id("sms-" + "0f" * 16) is None
    # The open REST channel can never name another channel's conversation.
    for other in ("sms-abc", "voice-CA" + "a" * 32, "web-" + "0f" * 16):
        assert rest_conversation_id(other) == "rest-" + other
    assert rest_conversation_id("rest-abc") == "rest-abc"
    assert rest_conversation_id("bad sender!") is None


def test_a_turns_replies_are_read_back_from_the_tracker_including_a_new_sessions_notice():
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.channels.common import turn_replies

    events = [
        ActionExecuted("action_session_start"),
        BotUttered("notice"),
        SessionStarted(),
        SlotSet("language", "nb"),
        ActionExecuted("action_listen"),
        UserUttered("hei", message_id="t1"),
        BotUttered("greeting"),
        ActionExecuted("action_listen"),
        UserUttered("hva skylder jeg", message_id="t2"),
        BotUttered("case number?", data={"buttons": [{"title": "Ja", "payload": "/affirm"}]}),
    ]
    tracker = DialogueStateTracker.from_events("voice-x", events)
    assert [r.text for r in turn_replies(tracker, "t1")] == ["notice", "greeting"]
    assert turn_replies(tracker, "t2") is None  # still running: no action_listen yet
    tracker.update(ActionExecuted("action_listen"))
    replies = turn_replies(tracker, "t2")
    assert [r.text for r in replies] == ["case number?"] and replies[0].buttons[0]["payload"] == "/affirm"
    assert turn_replies(tracker, "unknown") is None


def test_a_digit_chooses_a_button_of_the_last_turn_only():
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.channels.common import choice_payload

    buttons = [{"title": "Ja, takk", "payload": "/affirm"}, {"title": "Nei takk", "payload": "/deny"}]
    tracker = DialogueStateTracker.from_events(
        "sms-x", [UserUttered("hei"), BotUttered("Vil du?", data={"buttons": buttons})]
    )
    assert choice_payload(tracker, "2") == "/deny"
    assert choice_payload(tracker, " 1) ") == "/affirm"
    assert choice_payload(tracker, "3") is None
    assert choice_payload(tracker, "100001") is None  # a case number is not a choice
    tracker.update(UserUttered("nei"))
    assert choice_payload(tracker, "1") is None  # buttons of an earlier turn no longer count
