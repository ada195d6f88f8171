"""The web chat's Socket.IO channel under a burst, through a real Socket.IO client (python-socketio,
over WebSocket and over long-polling) against the channel served by Sanic on loopback, with the
real domain's responses and a dialogue that stands in for Rasa:
- a conversation's messages are answered one at a time, in order; at most MAX_WAITING_MESSAGES
  wait behind the one being answered, and every further one is answered at once with
  `utter_conversation_busy` and a log line without its text: no message is lost;
- a message over the length limit is answered with `utter_message_too_long` and never reaches
  the dialogue, and one at the limit reaches it whole;
- a turn that fails is answered with an apology and a log line without the message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import aiohttp
import pytest
import socketio
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.socketio import WebChatInput
from bot.config import load_settings
from bot.logs import JsonFormatter
from tests.bot.channels.agent_stand_in import DOMAIN, Agent
from tests.sanic_server import serving

NOTICE = "Du snakker med en digital assistent."
BUSY = (
    "Du skriver raskere enn jeg rekker å svare. Vent på svaret mitt, og send det jeg eventuelt gikk glipp av etterpå."
)
MAX_MESSAGE_CHARACTERS = 2000  # bot/channels/limits.py, the same on every channel
MAX_WAITING_MESSAGES = 5  # per conversation, behind the one being answered
WAIT_SECONDS = 20  # for answers that come at once; a dropped message makes the test fail here


class Dialogue:
    """Stands in for Rasa's message handling: holds every turn until released, then answers."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self, message) -> None:
        self.received.append(message.text)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.release.wait()
            if self.fail:
                raise ValueError(f"could not handle {message.text}")
            await message.output_channel.send_text_message(message.sender_id, f"svar på {message.text}")
        finally:
            self.running -= 1


class Page:
    """A web chat page's socket: what it received, in order."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.client = socketio.AsyncClient(reconnection=False)
        self.said: list[str] = []
        self.arrived = asyncio.Event()
        self.client.on("bot_uttered", self._bot_uttered)
        self.client.on("session_history", self._history)

    async def _bot_uttered(self, data) -> None:
        self.said.append(data["text"])
        self.arrived.set()

    async def _history(self, data) -> None:
        self.said += [message["text"] for message in data if message["sender"] == "bot"]
        self.arrived.set()

    async def close(self) -> None:
        # Not waiting for the long-poll in flight: the server would hold it until its next ping.
        await self.client.eio.disconnect(abort=True)

    async def until(self, condition) -> None:
        """Until `condition()` holds for what arrived (event-driven, bounded by WAIT_SECONDS)."""

        async def arrived() -> None:
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(arrived(), WAIT_SECONDS)


@pytest.fixture(autouse=True)
def websocket_client_on_the_pinned_aiohttp(monkeypatch):
    """python-engineio's client passes `aiohttp.ClientWSTimeout(ws_close=...)`, new in aiohttp 3.10;
    Rasa pins 3.9, whose `ws_connect` takes the same close timeout as a number."""
    if not hasattr(aiohttp, "ClientWSTimeout"):
        monkeypatch.setattr(aiohttp, "ClientWSTimeout", lambda ws_close=10.0, **_: ws_close, raising=False)


@pytest.fixture
async def chat():
    dialogue = Dialogue()
    channel = WebChatInput(load_settings(env={}, env_file=Path("/nonexistent")))
    Sanic.test_mode = True
    app = Sanic("socketio_channel_test")
    app.config.TOUCHUP = False
    app.blueprint(channel.blueprint(dialogue), url_prefix="/webhooks/socketio")
    app.ctx.agent = Agent()
    async with serving(app) as base_url:
        yield base_url, app.ctx.agent, dialogue
    # Engine.IO's ping of each socket sleeps for the ping interval (25 s), longer than the test's loop lives.
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__ == "AsyncSocket._send_ping":
            task.cancel()


async def open_page(base_url: str, agent: Agent, transport: str) -> Page:
    page = Page(transport)
    # A conversation with its session started: the page gets the notice back as its history.
    conversation_id = "web-" + secrets.token_hex(16)
    tracker = DialogueStateTracker.from_events(conversation_id, [BotUttered(NOTICE)], DOMAIN.slots)
    await agent.tracker_store.save(tracker)
    await page.client.connect(base_url, socketio_path="/socket.io", transports=[transport])
    await page.client.emit("session_request", {"session_id": conversation_id})
    await page.until(lambda: NOTICE in page.said)
    return page


@pytest.mark.parametrize(("transport", "burst"), [("websocket", 30), ("polling", 200)])
async def test_every_message_of_a_burst_gets_its_turn_or_the_busy_answer(chat, caplog, transport, burst) -> None:
    base_url, agent, dialogue = chat
    page = await open_page(base_url, agent, transport)
    sent = [f"melding nummer {number}" for number in range(burst)]
    turns = MAX_WAITING_MESSAGES + 1  # the one being answered and those waiting
    try:
        with caplog.at_level(logging.INFO, logger="bot.channels.socketio"):
            for text in sent:  # at once: over polling the client sends them as one payload
                await page.client.emit("user_uttered", {"message": text})
            await page.until(lambda: page.said.count(BUSY) == burst - turns)
            assert dialogue.received == sent[:1]  # the first is being answered, the rest wait
            dialogue.release.set()
            await page.until(lambda: len(page.said) == 1 + burst)
    finally:
        await page.close()

    answers = page.said[1:]
    assert answers.count(BUSY) == burst - turns
    assert [answer for answer in answers if answer != BUSY] == [f"svar på {text}" for text in sent[:turns]]
    assert dialogue.received == sent[:turns]  # in the order sent, one at a time
    assert dialogue.most_at_once == 1
    busy_lines = [record for record in caplog.records if "busy" in record.getMessage()]
    assert len(busy_lines) == burst - turns
    assert not any("melding nummer" in JsonFormatter().format(record) for record in caplog.records)


async def test_the_conversation_takes_messages_again_once_its_backlog_is_answered(chat) -> None:
    base_url, agent, dialogue = chat
    dialogue.release.set()
    page = await open_page(base_url, agent, "websocket")
    try:
        for round_ in range(3):
            for number in range(MAX_WAITING_MESSAGES + 1):
                await page.client.emit("user_uttered", {"message": f"runde {round_} melding {number}"})
            await page.until(lambda round_=round_: len(page.said) == 1 + (round_ + 1) * (MAX_WAITING_MESSAGES + 1))
    finally:
        await page.close()
    assert BUSY not in page.said
    assert len(dialogue.received) == 3 * (MAX_WAITING_MESSAGES + 1)


async def test_a_message_over_the_limit_is_answered_and_never_reaches_the_dialogue(chat, caplog) -> None:
    base_url, agent, dialogue = chat
    dialogue.release.set()
    page = await open_page(base_url, agent, "websocket")
    too_long = "å" * (MAX_MESSAGE_CHARACTERS + 1)
    at_the_limit = "b" * MAX_MESSAGE_CHARACTERS
    try:
        with caplog.at_level(logging.INFO, logger="bot.channels.socketio"):
            await page.client.emit("user_uttered", {"message": too_long})
            await page.until(lambda: len(page.said) == 2)
            await page.client.emit("user_uttered", {"message": at_the_limit})
            await page.until(lambda: len(page.said) == 3)
    finally:
        await page.close()

    assert page.said[1] == (
        "Meldingen din er for lang for meg (over 2000 tegn). Kan du skrive det viktigste kortere, "
        "gjerne i noen få setninger?"
    )
    assert dialogue.received == [at_the_limit]  # whole, not cut
    assert page.said[2] == f"svar på {at_the_limit}"
    assert any("length limit" in record.getMessage() for record in caplog.records)
    assert not any("ååå" in JsonFormatter().format(record) for record in caplog.records)


async def test_a_failing_turn_is_answered_with_an_apology_and_logged_without_the_message(chat, caplog) -> None:
    base_url, agent, dialogue = chat
    dialogue.fail = True
    dialogue.release.set()
    page = await open_page(base_url, agent, "websocket")
    try:
        with caplog.at_level(logging.INFO, logger="bot.channels.socketio"):
            await page.client.emit("user_uttered", {"message": "mitt fødselsnummer er 14838540024"})
            await page.until(lambda: len(page.said) == 2)
    finally:
        await page.close()

    assert page.said[1].startswith("Beklager, jeg har et teknisk problem akkurat nå")
    failed = [record for record in caplog.records if record.getMessage() == "web chat turn failed"]
    assert len(failed) == 1
    assert not any("14838540024" in JsonFormatter().format(record) for record in caplog.records)
