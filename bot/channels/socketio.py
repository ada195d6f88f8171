"""The web chat's Socket.IO channel, with sessions that survive a reload or a dropped connection.

The page makes its conversation id itself (`web-` and 128 random bits, kept in sessionStorage)
and sends it in `session_request`. Every socket of that session joins one room, so replies reach
the page whichever connection is current; and on each `session_request` the conversation so far
is sent back (`session_history`), so nothing said while the page was away is lost. (Rasa's own
channel never awaits `enter_room` with the installed python-socketio, so with session persistence
on its replies go nowhere.)

A new session starts the dialogue at once, so the page shows the digital-assistant notice
before the debtor types anything; the page's language is the session's first language.
Replies carry their quick replies (buttons), and `handoff: true` when the conversation has been
handed to a caseworker.

A conversation's messages are answered one at a time, in the order they came, and at most
MAX_WAITING_MESSAGES wait behind the one being answered (in this process). Any further message
is answered at once with `utter_conversation_busy` and a log line, never dropped: before, a burst
queued every message on Rasa's lock, whose tickets expire after 60 s, and the expired ones
vanished without a word. A message over the length limit (bot/channels/limits.py) is answered
with `utter_message_too_long` and never reaches Rasa. For long-polling, which sends whatever the
page has queued as one payload, Engine.IO's packet count per payload is raised so that any
payload within MAX_HTTP_BUFFER_BYTES is read (the default of 16 refused a burst whole, with an
exception and no answer); the byte limit is what bounds a request. Logs carry no text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

from engineio.payload import Payload
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.common import CASEWORKER, HANDOFF_RESPONSE, RETURNED_RESPONSE, Reply, render, tracker_of
from bot.channels.conversation_ids import web_conversation_id
from bot.channels.limits import MAX_MESSAGE_CHARACTERS, TOO_LONG_RESPONSE, too_long
from bot.config import Settings, load_settings

log = logging.getLogger(__name__)

CHANNEL = "socketio"
LANGUAGES = {"nb", "en"}
HISTORY_LIMIT = 200
BUSY_RESPONSE = "utter_conversation_busy"
UNAVAILABLE_RESPONSE = "utter_assistant_unavailable"
# Messages of one conversation that may wait behind the one being answered. Five is more than
# anyone types while waiting for an answer, and keeps the last one's wait to a few turns.
MAX_WAITING_MESSAGES = 5
# On a stop: how long the turns under way may take before the sockets are closed, and the close.
# Both well within the dialogue server's graceful shutdown time (8 s).
STOP_TURNS_SECONDS = 4.0
STOP_CLOSE_SECONDS = 2.0
# One HTTP request or WebSocket frame: a message at the length limit written in four-byte
# characters with JSON escapes is about 12 kB, so a longer one still arrives to be told so, and a
# long-polling payload holds well over a thousand short messages.
MAX_HTTP_BUFFER_BYTES = 100_000
# The smallest user message packet (4 + 2["user_uttered",{"message":"a"}]) is 36 bytes: no payload
# within the byte limit is refused for the number of its packets.
MAX_PACKETS_PER_PAYLOAD = MAX_HTTP_BUFFER_BYTES // 32


@dataclass
class _Backlog:
    """A conversation's messages in this process: the one being answered and those waiting."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    messages: int = 0
    busy_text: Optional[str] = None  # rendered once per burst


def bot_event(reply: Reply) -> dict[str, Any]:
    """A reply as the page receives it: `from` says whether the assistant or a caseworker wrote
    it; `handoff` and `returned` mark the turns where a person took or gave back the conversation."""
    event = {
        "text": reply.text,
        "quick_replies": [
            {"title": button.get("title", ""), "payload": button.get("payload", "")} for button in reply.buttons
        ],
        "handoff": reply.response == HANDOFF_RESPONSE,
        "returned": reply.response == RETURNED_RESPONSE,
        "from": "assistant",
    }
    if reply.caseworker_name is not None:
        event.update({"from": CASEWORKER, "name": reply.caseworker_name})
    return event


class WebChatOutput(OutputChannel):
    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        reply = Reply.from_message(message)
        if reply.text or reply.buttons:
            await self.sio.emit(self.bot_message_evt, bot_event(reply), room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.sio.emit(self.bot_message_evt, bot_event(Reply(text=text)), room=recipient_id)


class _SocketBlueprint(Blueprint):
    """Attaches the Socket.IO server to the Sanic app when the blueprint is registered."""

    def __init__(self, channel: "WebChatInput", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.channel = channel

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.channel.sio.attach(app, self.ctx.channel.socketio_path)
        self.ctx.channel.app = app
        app.register_listener(self.ctx.channel.close_sockets, "before_server_stop")
        super().register(app, options)


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            load_settings(),
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(
        self,
        settings: Settings,
        *,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        socketio_path: str = "/socket.io",
    ) -> None:
        self.settings = settings
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.app: Optional[Sanic] = None
        self._backlogs: dict[str, _Backlog] = {}
        # Several dialogue-server replicas share rooms through Redis when it is configured.
        manager = AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        # Engine.IO reads this class attribute only (python-engineio has no server option for it);
        # this process serves no other Engine.IO server.
        Payload.max_decode_packets = max(Payload.max_decode_packets, MAX_PACKETS_PER_PAYLOAD)
        # The page is served by the backoffice, another origin; it holds no cookie or secret.
        self.sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins="*",
            client_manager=manager,
            max_http_buffer_size=MAX_HTTP_BUFFER_BYTES,
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WebChatOutput(self.sio, self.bot_message_evt)

    async def close_sockets(self, *_: Any) -> None:
        """When the process is told to stop: the web chat turns under way finish (for at most
        STOP_TURNS_SECONDS), then every socket is closed at the transport, which pages take for a
        lost connection and reconnect at once, to another replica; otherwise Sanic would hold
        them open to the end of its graceful shutdown time and then cut them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TURNS_SECONDS
        while self._backlogs and loop.time() < deadline:
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(self.sio.eio.disconnect(), STOP_CLOSE_SECONDS)
        except Exception as error:  # the process is stopping either way
            log.warning("web chat sockets not closed on stop", extra={"fields": {"error": type(error).__name__}})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = _SocketBlueprint(self, "socketio_webhook", __name__)
        sio = self.sio

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: Optional[dict] = None) -> bool:
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Optional[dict]) -> None:
            data = data if isinstance(data, dict) else {}
            conversation_id = web_conversation_id(data.get("session_id"))
            if conversation_id is None:
                await sio.emit("session_rejected", {"reason": "session_id must be web- and 32 hex digits"}, to=sid)
                return
            language = data.get("language") if data.get("language") in LANGUAGES else "nb"
            await sio.save_session(sid, {"conversation_id": conversation_id})
            await sio.enter_room(sid, conversation_id)
            await sio.emit("session_confirm", conversation_id, to=sid)
            history = await self._history(conversation_id)
            if history:
                await sio.emit("session_history", history, to=sid)
            else:
                await self._start_session(conversation_id, language)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Optional[dict]) -> None:
            session = await sio.get_session(sid)
            conversation_id = (session or {}).get("conversation_id")
            data = data if isinstance(data, dict) else {}
            text = data.get("message")
            if conversation_id is None or not isinstance(text, str) or not text.strip():
                return
            if too_long(text):
                log.info("web chat message refused: over the length limit", extra={"fields": {"characters": len(text)}})
                await self._say(conversation_id, TOO_LONG_RESPONSE, max_characters=MAX_MESSAGE_CHARACTERS)
                return
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            language = metadata.get("language")
            message = UserMessage(
                text,
                WebChatOutput(sio, self.bot_message_evt),
                conversation_id,
                input_channel=CHANNEL,
                metadata={"language": language} if language in LANGUAGES else None,
            )
            await self._in_turn(message, on_new_message)

        return hook

    async def _in_turn(self, message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Hands the message to Rasa when the conversation's earlier messages are answered, or
        answers it with `utter_conversation_busy` at once when too many are waiting."""
        conversation_id = message.sender_id
        backlog = self._backlogs.setdefault(conversation_id, _Backlog())
        if backlog.messages > MAX_WAITING_MESSAGES:  # one being answered, MAX_WAITING_MESSAGES waiting
            log.warning(
                "web chat message answered as busy: too many messages waiting in the conversation",
                extra={"fields": {"waiting": backlog.messages - 1, "limit": MAX_WAITING_MESSAGES}},
            )
            if backlog.busy_text is None:
                backlog.busy_text = await self._render(conversation_id, BUSY_RESPONSE)
            if backlog.busy_text:
                await self.sio.emit(
                    self.bot_message_evt, bot_event(Reply(text=backlog.busy_text)), room=conversation_id
                )
            return
        backlog.messages += 1
        try:
            async with backlog.turn:
                await self.sio.emit("bot_typing", {"typing": True}, room=conversation_id)
                try:
                    await on_new_message(message)
                except Exception:
                    log.exception("web chat turn failed")
                    await self._say(conversation_id, UNAVAILABLE_RESPONSE, agency_phone=self.settings.agency_phone)
        finally:
            backlog.messages -= 1
            if backlog.messages == 0:
                self._backlogs.pop(conversation_id, None)
                await self.sio.emit("bot_typing", {"typing": False}, room=conversation_id)

    async def _render(self, conversation_id: str, response_name: str, **values: Any) -> Optional[str]:
        """A domain response's text in the conversation's language (None, logged, if it cannot be made)."""
        try:
            agent = self.app.ctx.agent
            return await render(agent, await tracker_of(agent, conversation_id), response_name, CHANNEL, **values)
        except Exception:
            log.exception("web chat reply could not be made", extra={"fields": {"response": response_name}})
            return None

    async def _say(self, conversation_id: str, response_name: str, **values: Any) -> None:
        """The channel's own message to the conversation, from the domain."""
        text = await self._render(conversation_id, response_name, **values)
        if text:
            await self.sio.emit(self.bot_message_evt, bot_event(Reply(text=text)), room=conversation_id)

    async def _history(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's messages as the page shows them (buttons only on the last one)."""
        # The full tracker: a session's notice is logged before its SessionStarted event.
        tracker = await self.app.ctx.agent.tracker_store.retrieve_full_tracker(conversation_id) if self.app else None
        if tracker is None:
            return []
        messages: list[dict[str, Any]] = []
        choices: dict[str, str] = {}  # payload -> title of the buttons last shown
        for event in tracker.events:
            if isinstance(event, UserUttered) and event.text:
                # A button press is logged as its payload; the page showed its title.
                text = choices.get(event.text, event.text) if event.text.startswith("/") else event.text
                if not text.startswith("/"):
                    messages.append({"sender": "user", "text": text})
            elif isinstance(event, BotUttered) and (event.text or event.data.get("buttons")):
                message = {"sender": "bot", **bot_event(Reply.from_message(event.message()))}
                if message["quick_replies"]:
                    choices = {button["payload"]: button["title"] for button in message["quick_replies"]}
                messages.append(message)
        for message in messages[:-1]:
            message.pop("quick_replies", None)
        return messages[-HISTORY_LIMIT:]

    async def _start_session(self, conversation_id: str, language: str) -> None:
        """Run `action_session_start` now, so the notice is there before the first message."""
        agent = self.app.ctx.agent
        output = WebChatOutput(self.sio, self.bot_message_evt)
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.fetch_tracker_and_update_session(
                conversation_id, output, {"language": language}
            )
            await agent.processor.save_tracker(tracker)
