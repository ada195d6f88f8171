"""The REST channel at `POST /webhooks/rest/webhook`, for tests and integrations.

Body: `{"sender": "...", "message": "...", "metadata": {"language": "en"}}`; the answer is the
turn's replies as a JSON list, as Rasa's own REST channel gives them. It differs from Rasa's on
purpose:
- `sender` is required (Rasa's falls back to one shared conversation, `default`, where one caller
  could read what another had verified), and the conversation id is always under `rest-`, so
  the open endpoint cannot join another channel's conversation.
- The channel is always `rest` and only a language hint passes as metadata: an open endpoint must
  not pose as the SMS channel and its `sender_phone` verification factor.
- A message over the channels' length limit is answered 413 with `utter_message_too_long`.
- Nothing logged carries the message: Rasa's channel logs the whole text when a client goes away
  mid-turn or a turn fails.
- Production can require a token (`REST_CHANNEL_TOKEN`, sent as `Authorization: Bearer ...`) or
  switch the channel off (`REST_CHANNEL_ENABLED=false`: every path answers 404).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import render, tracker_of
from bot.channels.conversation_ids import rest_conversation_id
from bot.channels.limits import MAX_MESSAGE_CHARACTERS, TOO_LONG_RESPONSE, too_long
from bot.config import Settings, load_settings

log = logging.getLogger(__name__)

CHANNEL = "rest"
ALLOWED_METADATA = {"language"}
UNAVAILABLE_RESPONSE = "utter_assistant_unavailable"


def error(code: str, detail: str, status: int, **extra: Any) -> HTTPResponse:
    return response.json({"error": code, "detail": detail, **extra}, status=status)


def _log_failure(turn: asyncio.Future) -> None:
    """Logs a turn that failed after its client had gone (no one else will see the error)."""
    if not turn.cancelled() and turn.exception() is not None:
        log.error("rest turn failed after the client went away", exc_info=turn.exception())


class NamespacedRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        return cls(load_settings())

    def __init__(self, settings: Optional[Settings] = None) -> None:
        self.settings = settings or load_settings()

    def _authorised(self, request: Request) -> bool:
        token = self.settings.rest_channel_token
        if not token:
            return True
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if not self.settings.rest_channel_enabled:
                return error("not_found", "the REST channel is switched off", 404)
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.rest_channel_enabled:
                return error("not_found", "the REST channel is switched off", 404)
            if not self._authorised(request):
                log.warning("rest message refused: missing or wrong token")
                return error("unauthorized", "a Bearer token is required", 401)
            try:
                body = request.json
            except Exception:  # Sanic raises its own error for a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return error("invalid_body", "the body must be a JSON object", 400)
            sender_id = rest_conversation_id(body.get("sender"))
            if sender_id is None:
                return error("invalid_sender", "sender is required: 1 to 150 letters, digits or _ . : @ -", 400)
            text = body.get("message")
            if not isinstance(text, str):
                return error("invalid_message", "message must be a string", 400)
            metadata = self._metadata(body)
            agent = request.app.ctx.agent
            if too_long(text):
                log.info("rest message refused: over the length limit", extra={"fields": {"characters": len(text)}})
                reply = await self._say(agent, sender_id, TOO_LONG_RESPONSE, max_characters=MAX_MESSAGE_CHARACTERS)
                return response.json(
                    {"error": "message_too_long", "max_characters": MAX_MESSAGE_CHARACTERS, "messages": reply},
                    status=413,
                )
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id, input_channel=CHANNEL, metadata=metadata)
            # The turn runs to its end even when the client goes away meanwhile (Sanic then
            # cancels this handler): the debtor's message and the assistant's answer are kept.
            turn = asyncio.ensure_future(on_new_message(message))
            try:
                await asyncio.shield(turn)
            except asyncio.CancelledError:
                log.warning("rest client went away before the answer; the turn goes on")
                turn.add_done_callback(_log_failure)
                raise
            except Exception:
                log.exception("rest turn failed")
                return response.json(
                    collector.messages
                    + await self._say(agent, sender_id, UNAVAILABLE_RESPONSE, agency_phone=self.settings.agency_phone)
                )
            return response.json(collector.messages)

        return hook

    @staticmethod
    def _metadata(body: dict[str, Any]) -> Optional[dict[str, Any]]:
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            return None
        return {key: value for key, value in metadata.items() if key in ALLOWED_METADATA} or None

    async def _say(self, agent, sender_id: str, response_name: str, **values: Any) -> list[dict[str, Any]]:
        """A domain response as the REST channel's reply list (empty if it cannot be made)."""
        try:
            text = await render(agent, await tracker_of(agent, sender_id), response_name, CHANNEL, **values)
        except Exception:
            log.exception("rest reply could not be made", extra={"fields": {"response": response_name}})
            return []
        return [{"recipient_id": sender_id, "text": text}]
