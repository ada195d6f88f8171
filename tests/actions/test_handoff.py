from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.case_system_client import Caller, CaseSystemClient
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
