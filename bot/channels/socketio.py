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
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.common import HANDOFF_RESPONSE, Reply
from bot.channels.conversation_ids import web_conversation_id
from bot.config import Settings, load_settings

log = logging.getLogger(__name__)

CHANNEL = "socketio"
LANGUAGES = {"nb", "en"}
MAX_MESSAGE_CHARACTERS = 2000
HISTORY_LIMIT = 200


def bot_event(reply: Reply) -> dict[str, Any]:
    """A reply as the page receives it."""
    return {
        "text": reply.text,
        "quick_replies": [
            {"title": button.get("title", ""), "payload": button.get("payload", "")} for button in reply.buttons
        ],
        "handoff": reply.response == HANDOFF_RESPONSE,
    }


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
        # Several dialogue-server replicas share rooms through Redis when it is configured.
        manager = AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        # The page is served by the backoffice, another origin; it holds no cookie or secret.
        self.sio = AsyncServer(async_mode="sanic", cors_allowed_origins="*", client_manager=manager)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WebChatOutput(self.sio, self.bot_message_evt)

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
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            language = metadata.get("language")
            await sio.emit("bot_typing", {"typing": True}, room=conversation_id)
            try:
                await on_new_message(
                    UserMessage(
                        text[:MAX_MESSAGE_CHARACTERS],
                        WebChatOutput(sio, self.bot_message_evt),
                        conversation_id,
                        input_channel=CHANNEL,
                        metadata={"language": language} if language in LANGUAGES else None,
                    )
                )
            finally:
                await sio.emit("bot_typing", {"typing": False}, room=conversation_id)

        return hook

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
