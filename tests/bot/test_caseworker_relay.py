"""While a caseworker has the conversation, each debtor message reaches the console through the
case system, without identity numbers, and a case system that is down only delays it."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from rasa.shared.core.events import ActionExecuted, ConversationPaused, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.case_system_client import CaseSystemClient
from bot import caseworker_relay
from bot.caseworker_relay import CaseworkerRelay
from tests.e2e.conftest import free_port


class CaseSystemStandIn:
    """The case system's debtor-messages route on loopback, answering as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, dict]] = []
        self.answers = [201]

    async def record(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.received.append((request.match_info["conversation_id"], await request.json(), dict(request.headers)))
        if status == 404:
            return web.json_response({"error": {"code": "handoff_not_found"}}, status=404)
        return web.json_response({"recorded": True}, status=status)


@pytest.fixture
async def relay(monkeypatch):
    monkeypatch.setattr(caseworker_relay, "RETRY_DELAYS_SECONDS", (0.05, 0.05, 0.05))
    stand_in = CaseSystemStandIn()
    app = web.Application()
    app.router.add_post("/api/v1/conversations/{conversation_id}/debtor-messages", stand_in.record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = CaseSystemClient(f"http://127.0.0.1:{port}/api/v1", "key", timeout_seconds=2)
    yield CaseworkerRelay(client), stand_in
    await client.close()
    await runner.cleanup()


def paused_tracker(text: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker("web-" + "a" * 32, [])
    tracker.update(ConversationPaused())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text, input_channel="socketio"))
    tracker.update(SlotSet("months", 2))  # a slot its entities filled may follow the message
    return tracker


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


async def test_the_debtors_message_reaches_the_case_system_without_identity_numbers(relay) -> None:
    forwarder, stand_in = relay
    forwarder.forward(paused_tracker("Her er fødselsnummeret mitt: 14838540024"))
    await until(lambda: stand_in.received)
    ((conversation_id, body, headers),) = stand_in.received
    assert conversation_id == "web-" + "a" * 32
    assert "14838540024" not in body["text"] and "fødselsnummeret mitt" in body["text"]
    assert body["at"].endswith("+00:00")
    assert headers["Authorization"] == "Bearer key" and headers["X-Conversation-Id"] == conversation_id


async def test_a_case_system_that_is_down_is_tried_again(relay) -> None:
    forwarder, stand_in = relay
    stand_in.answers = [503, 503, 201]
    forwarder.forward(paused_tracker("hallo?"))
    await until(lambda: len(stand_in.received) == 3)
    await asyncio.sleep(0.2)
    assert len(stand_in.received) == 3  # and no more once it was recorded


async def test_a_conversation_without_a_handoff_is_not_tried_again(relay) -> None:
    forwarder, stand_in = relay
    stand_in.answers = [404]
    forwarder.forward(paused_tracker("hallo?"))
    await until(lambda: stand_in.received)
    await asyncio.sleep(0.2)
    assert len(stand_in.received) == 1


async def test_commands_are_not_forwarded(relay) -> None:
    forwarder, stand_in = relay
    forwarder.forward(paused_tracker('/switch_language{"language": "en"}'))
    await asyncio.sleep(0.2)
    assert stand_in.received == []


async def test_a_message_already_listened_to_is_not_forwarded_again(relay) -> None:
    forwarder, stand_in = relay
    tracker = paused_tracker("hallo?")
    tracker.update(ActionExecuted("action_listen"))
    assert forwarder.forward(tracker) is False
