"""Handoffs that can be followed up: a short reference, how an unverified debtor can be reached,
and the debtor's further messages added to the handoff while it waits."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.case_system_client import Caller, CaseSystemClient
from actions.formatting import moment
from actions.handoff import ActionAddToHandoff, ActionCreateHandoff, ValidateHandoffContactForm
from bot.redaction import redact_events
from tests.actions.conftest import make_tracker, responses, slot_events

NATIONAL_ID = "14838540024"
CALLER = Caller(conversation_id="test", channel="rest", purpose="test")
REFERENCE = re.compile(r"H-[0-9A-HJKMNP-TV-Z]{6}")


async def _handoff(client: CaseSystemClient, conversation_id: str) -> dict[str, Any]:
    """The handoff as the API lists it, with its contact and messages as stored (a caseworker's
    view, read from the database here so that the test needs no caseworker account)."""
    http = client._http()
    async with http.get(f"{client.base_url}/handoffs", headers=CALLER.headers()) as response:
        listed = next(h for h in (await response.json())["handoffs"] if h["conversation_id"] == conversation_id)
    with sqlite3.connect(services.settings().database_url.split("///", 1)[1]) as db:
        listed["contact_phone"], listed["contact_email"] = db.execute(
            "SELECT contact_phone, contact_email FROM handoffs WHERE id = ?", (listed["id"],)
        ).fetchone()
        rows = db.execute("SELECT sender, text FROM handoff_messages WHERE handoff_id = ?", (listed["id"],))
        listed["messages"] = [{"from": sender, "text": text} for sender, text in rows]
    return listed


async def test_handoff_carries_reason_a_redacted_transcript_and_a_short_reference(client: CaseSystemClient) -> None:
    events = [
        {"event": "user", "text": f"mitt fnr er {NATIONAL_ID}", "timestamp": 1_780_000_000},
        {"event": "bot", "text": "Jeg klarte ikke å bekrefte opplysningene.", "timestamp": 1_780_000_001},
    ]
    tracker = make_tracker(
        {"handoff_reason": "locked", "handoff_contact": "declined"}, events=events, text="ja takk", sender_id="web-h1"
    )
    dispatcher = CollectingDispatcher()
    result = await ActionCreateHandoff().run(dispatcher, tracker, {})

    assert responses(dispatcher) == ["utter_handoff_created", "utter_handoff_no_contact"]
    handoff = await _handoff(client, "web-h1")
    reference = dispatcher.messages[0]["handoff_id"]
    assert REFERENCE.fullmatch(reference) and handoff["reference"] == reference  # not the bare id
    assert isinstance(handoff["id"], int) and str(handoff["id"]) != reference
    assert slot_events(result) == {
        "handoff_contact": None,
        "handoff_reference": reference,
        "handoff_open": True,
        "handoff_reason": None,
        "handoff_contact_reason": None,
    }
    assert handoff["reason"] == "locked" and handoff["channel"] == "web"
    assert handoff["case_number"] is None  # not verified: no case is linked
    assert handoff["contact_phone"] is None and handoff["contact_email"] is None
    assert [line["sender"] for line in handoff["transcript"]] == ["user", "bot", "user"]
    assert NATIONAL_ID not in str(handoff["transcript"])


async def test_a_verified_debtor_is_not_asked_for_a_contact(client: CaseSystemClient) -> None:
    tracker = make_tracker(
        {"handoff_reason": "requested", "verified": True, "verified_case_number": "100001"},
        text="snakke med et menneske",
        sender_id="web-answer-by",
    )
    dispatcher = CollectingDispatcher()
    await ActionCreateHandoff().run(dispatcher, tracker, {})
    (message,) = dispatcher.messages
    # "kl. 14.15" today inside opening hours, or the weekday and time of the next opening.
    assert message["response"] == "utter_handoff_created"
    assert "kl. " in message["answer_by"]
    assert REFERENCE.fullmatch(message["handoff_id"])


async def test_an_unverified_debtor_is_asked_how_to_reach_them_before_the_handoff(client: CaseSystemClient) -> None:
    tracker = make_tracker({"handoff_reason": "requested"}, text="snakke med et menneske", sender_id="web-ask")
    dispatcher = CollectingDispatcher()
    result = await ActionCreateHandoff().run(dispatcher, tracker, {})
    # The form asks the question: the dialogue runs an active loop next.
    assert responses(dispatcher) == []
    assert {"event": "active_loop", "name": "handoff_contact_form", "timestamp": None} in result
    assert slot_events(result) == {"handoff_reason": "requested", "handoff_contact_reason": "requested"}
    http = client._http()
    async with http.get(f"{client.base_url}/handoffs", headers=CALLER.headers()) as response:
        assert all(h["conversation_id"] != "web-ask" for h in (await response.json())["handoffs"])


@pytest.mark.parametrize(
    "given, field, stored",
    [
        ("ring meg på 912 34 567", "contact_phone", "+4791234567"),
        ("Kari@Example.NO", "contact_email", "Kari@example.no"),
    ],
)
async def test_the_contact_given_on_the_web_is_stored_with_the_handoff_not_in_its_transcript(
    client: CaseSystemClient, given: str, field: str, stored: str
) -> None:
    validated = await ValidateHandoffContactForm().validate_handoff_contact(
        given, CollectingDispatcher(), make_tracker(text=given), {}
    )
    tracker = make_tracker(
        {"handoff_reason": "requested", **validated}, text=given, sender_id=f"web-{field}", channel="socketio"
    )
    dispatcher = CollectingDispatcher()
    await ActionCreateHandoff().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff_created", "utter_handoff_contact_noted"]
    assert "912" not in str(dispatcher.messages) and "@" not in str(dispatcher.messages)  # not said back
    handoff = await _handoff(client, f"web-{field}")
    assert handoff[field] == stored
    assert stored not in str(handoff["transcript"]) and given not in str(handoff["transcript"])


async def test_on_sms_a_yes_means_the_number_they_write_from(client: CaseSystemClient) -> None:
    metadata = {"sender_phone": "+4791234567"}
    yes = make_tracker(text="ja", channel="twilio_sms", metadata=metadata)
    yes.latest_message["intent"] = {"name": "affirm"}
    validated = await ValidateHandoffContactForm().validate_handoff_contact("ja", CollectingDispatcher(), yes, {})
    assert validated == {"handoff_contact": "sms_sender"}
    tracker = make_tracker(
        {"handoff_reason": "requested", **validated},
        text="ja",
        sender_id="sms-h1",
        channel="twilio_sms",
        metadata=metadata,
    )
    await ActionCreateHandoff().run(CollectingDispatcher(), tracker, {})
    assert (await _handoff(client, "sms-h1"))["contact_phone"] == "+4791234567"


@pytest.mark.parametrize("text", ["12345", "kari@example", "hva skylder jeg"])
async def test_what_is_neither_a_phone_number_nor_an_address_is_asked_again(text: str) -> None:
    dispatcher = CollectingDispatcher()
    validated = await ValidateHandoffContactForm().validate_handoff_contact(
        text, dispatcher, make_tracker(text=text), {}
    )
    assert validated == {"handoff_contact": None}
    assert responses(dispatcher) == ["utter_handoff_contact_invalid"]


async def test_no_is_respected() -> None:
    tracker = make_tracker(text="nei")
    tracker.latest_message["intent"] = {"name": "deny"}
    validated = await ValidateHandoffContactForm().validate_handoff_contact("nei", CollectingDispatcher(), tracker, {})
    assert validated == {"handoff_contact": "declined"}


async def test_further_messages_are_added_to_the_open_handoff(client: CaseSystemClient) -> None:
    first = make_tracker(
        {"handoff_reason": "dispute", "verified": True, "verified_case_number": "100001"},
        text="kravet er feil",
        sender_id="web-more",
    )
    created = slot_events(await ActionCreateHandoff().run(CollectingDispatcher(), first, {}))
    more = f"Jeg har aldri fått fakturaen, fnr {NATIONAL_ID}"
    tracker = make_tracker({**created, "verified": True}, text=more, sender_id="web-more")
    dispatcher = CollectingDispatcher()
    assert await ActionAddToHandoff().run(dispatcher, tracker, {}) == []
    assert responses(dispatcher) == ["utter_added_to_handoff"]
    assert dispatcher.messages[0]["handoff_id"] == created["handoff_reference"]
    handoff = await _handoff(client, "web-more")
    assert [(m["from"], m["text"]) for m in handoff["messages"]] == [
        ("debtor", "Jeg har aldri fått fakturaen, fnr [fødselsnummer fjernet]")
    ]
    assert handoff["status"] == "open"


async def test_a_message_after_the_handoff_closed_runs_the_flow_again(client: CaseSystemClient) -> None:
    tracker = make_tracker(
        {"handoff_open": True, "handoff_reference": "H-0000AA"}, text="jeg vil snakke med en person", sender_id="web-x"
    )
    tracker.latest_message["intent"] = {"name": "request_human"}
    dispatcher = CollectingDispatcher()
    events = await ActionAddToHandoff().run(dispatcher, tracker, {})
    assert slot_events(events) == {"handoff_open": False, "handoff_reference": None}
    assert events[-1] == {"event": "followup", "name": "action_create_handoff", "timestamp": None}


def test_a_moment_is_a_time_today_or_a_day_and_time_later() -> None:
    now = datetime(2026, 12, 4, 14, 0, tzinfo=timezone.utc)  # Friday 15.00 in Oslo
    assert moment(datetime(2026, 12, 4, 14, 15, tzinfo=timezone.utc), "nb", now=now) == "kl. 15.15"
    assert moment(datetime(2026, 12, 7, 7, 15, tzinfo=timezone.utc), "nb", now=now) == "mandag 7. desember kl. 08.15"
    assert moment(datetime(2026, 12, 7, 7, 15, tzinfo=timezone.utc), "en", now=now) == "Monday 7 December at 08:15"
    summer = datetime(2026, 7, 1, 6, 0, tzinfo=timezone.utc)  # 08.00 in Oslo (UTC+2)
    assert moment(summer, "nb", now=summer) == "kl. 08.00"


def test_the_contact_is_kept_out_of_the_tracker_store() -> None:
    events = [
        {"event": "slot", "name": "requested_slot", "value": "handoff_contact"},
        {
            "event": "user",
            "text": "kari@example.no eller 912 34 567",
            "parse_data": {"text": "kari@example.no eller 912 34 567", "intent": {"name": "inform"}, "entities": []},
        },
        {"event": "slot", "name": "handoff_contact", "value": "kari@example.no"},
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "user", "text": "takk", "parse_data": {"text": "takk", "entities": []}},
    ]
    stored = list(redact_events(events))
    assert "kari@example.no" not in str(stored) and "912 34 567" not in str(stored)
    assert stored[2]["value"] is None
    assert stored[4]["text"] == "takk"  # only the answer to the question loses its words


async def test_the_reason_survives_an_answer_that_reads_as_another_request(client: CaseSystemClient) -> None:
    # "ring meg på ..." is also a request for a person: handoff_reason is set again from it.
    tracker = make_tracker(
        {"handoff_reason": "requested", "handoff_contact_reason": "hardship", "handoff_contact": "+4791234567"},
        text="ring meg på 912 34 567",
        sender_id="web-reason",
    )
    await ActionCreateHandoff().run(CollectingDispatcher(), tracker, {})
    assert (await _handoff(client, "web-reason"))["reason"] == "hardship"


async def test_a_caller_is_transferred_not_asked_for_a_number(client: CaseSystemClient) -> None:
    tracker = make_tracker(
        {"handoff_reason": "requested"}, text="et menneske", sender_id="voice-h", channel="twilio_voice"
    )
    dispatcher = CollectingDispatcher()
    await ActionCreateHandoff().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff_created"]
