from __future__ import annotations

from datetime import datetime, timezone

from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import Caller, CaseSystemClient
from actions.formatting import moment
from actions.handoff import ActionCreateHandoff
from tests.actions.conftest import make_tracker, responses

NATIONAL_ID = "14838540024"


async def test_handoff_carries_reason_and_a_redacted_transcript(client: CaseSystemClient) -> None:
    events = [
        {"event": "user", "text": f"mitt fnr er {NATIONAL_ID}", "timestamp": 1_780_000_000},
        {"event": "bot", "text": "Jeg klarte ikke å bekrefte opplysningene.", "timestamp": 1_780_000_001},
    ]
    tracker = make_tracker({"handoff_reason": "locked"}, events=events, text="ja takk", sender_id="web-handoff")
    dispatcher = CollectingDispatcher()
    result = await ActionCreateHandoff().run(dispatcher, tracker, {})

    assert responses(dispatcher) == ["utter_handoff_created"]
    assert result == [{"event": "slot", "timestamp": None, "name": "handoff_reason", "value": None}]
    caller = Caller(conversation_id="test", channel="rest", purpose="test")
    http = client._http()
    async with http.get(f"{client.base_url}/handoffs", params={"status": "open"}, headers=caller.headers()) as response:
        handoffs = (await response.json())["handoffs"]
    handoff = next(h for h in handoffs if h["conversation_id"] == "web-handoff")
    assert handoff["id"] == dispatcher.messages[0]["handoff_id"]
    assert handoff["reason"] == "locked"
    assert handoff["channel"] == "web"
    assert handoff["case_number"] is None  # not verified: no case is linked
    assert [line["sender"] for line in handoff["transcript"]] == ["user", "bot", "user"]
    assert NATIONAL_ID not in str(handoff["transcript"])


async def test_the_debtor_is_told_when_a_person_will_answer(client: CaseSystemClient) -> None:
    tracker = make_tracker({"handoff_reason": "requested"}, text="snakke med et menneske", sender_id="web-answer-by")
    dispatcher = CollectingDispatcher()
    await ActionCreateHandoff().run(dispatcher, tracker, {})
    (message,) = dispatcher.messages
    # "kl. 14.15" today inside opening hours, or the weekday and time of the next opening.
    assert message["response"] == "utter_handoff_created"
    assert "kl. " in message["answer_by"]


def test_a_moment_is_a_time_today_or_a_day_and_time_later() -> None:
    now = datetime(2026, 12, 4, 14, 0, tzinfo=timezone.utc)  # Friday 15.00 in Oslo
    assert moment(datetime(2026, 12, 4, 14, 15, tzinfo=timezone.utc), "nb", now=now) == "kl. 15.15"
    assert moment(datetime(2026, 12, 7, 7, 15, tzinfo=timezone.utc), "nb", now=now) == "mandag 7. desember kl. 08.15"
    assert moment(datetime(2026, 12, 7, 7, 15, tzinfo=timezone.utc), "en", now=now) == "Monday 7 December at 08:15"
    summer = datetime(2026, 7, 1, 6, 0, tzinfo=timezone.utc)  # 08.00 in Oslo (UTC+2)
    assert moment(summer, "nb", now=summer) == "kl. 08.00"
