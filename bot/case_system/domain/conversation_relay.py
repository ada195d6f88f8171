"""The backoffice's client of the dialogue server's HTTP API (Rasa's own, with `RASA_API_TOKEN`):
pausing and resuming the assistant in a conversation, putting a caseworker's words in it, having
the assistant say something, and reading the conversation so far.

The assistant's silence while a caseworker has a conversation is Rasa's own `pause` event
(ConversationPaused): Rasa keeps every message in the tracker and predicts nothing until a
`resume`. A caseworker's message is a `bot` event with `metadata.from = "caseworker"`; with
`output_channel=latest` and `execute_side_effects` Rasa also sends it through the channel the
debtor last wrote on (the web chat's Socket.IO room).

Failures are `DialogueServerUnavailable` (no answer in time: 503) or `DialogueServerError` (an
error answer: 502), which the API turns into clear error bodies; log lines name the operation and
the status, never the conversation's content.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional
from urllib.parse import quote

import aiohttp

from bot.case_system.contract import errors

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0


class DialogueServerUnavailable(errors.ApiError):
    def __init__(self) -> None:
        super().__init__(
            503,
            "dialogue_server_unavailable",
            "The dialogue server did not answer; nothing was changed in the conversation. Try again shortly.",
        )


class DialogueServerError(errors.ApiError):
    def __init__(self, status: int) -> None:
        super().__init__(
            502, "dialogue_server_error", f"The dialogue server answered with status {status}; try again shortly."
        )


class ConversationRelay:
    def __init__(self, base_url: str, token: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, so that it belongs to the event loop of the server using it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self, method: str, path: str, *, operation: str, body: Any = None, params: Optional[dict[str, str]] = None
    ) -> Any:
        query = {"token": self._token, **(params or {})}
        url = self.base_url + path
        try:
            async with self._http().request(method, url, params=query, json=body) as response:
                if response.status >= 400:
                    log.warning("dialogue server: %s answered %d", operation, response.status)
                    raise DialogueServerError(response.status)
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
            log.warning("dialogue server: %s failed: %s", operation, type(error).__name__)
            raise DialogueServerUnavailable() from None

    @staticmethod
    def _path(conversation_id: str, tail: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}/{tail}"

    async def pause(self, conversation_id: str) -> None:
        """The assistant stops answering this conversation (its messages are still kept)."""
        await self._call(
            "POST", self._path(conversation_id, "tracker/events"), operation="pause", body={"event": "pause"}
        )

    async def resume(self, conversation_id: str) -> None:
        await self._call(
            "POST", self._path(conversation_id, "tracker/events"), operation="resume", body={"event": "resume"}
        )

    async def say_as_caseworker(self, conversation_id: str, text: str, *, caseworker_name: str, deliver: bool) -> None:
        """Append a caseworker's message to the conversation; `deliver` also sends it through the
        channel the debtor last wrote on (web chat); otherwise it is only kept (SMS goes by the
        outbox)."""
        params = {"output_channel": "latest", "execute_side_effects": "true"} if deliver else None
        body = {"event": "bot", "text": text, "metadata": {"from": "caseworker", "caseworker_name": caseworker_name}}
        await self._call(
            "POST",
            self._path(conversation_id, "tracker/events"),
            operation="caseworker_message",
            body=body,
            params=params,
        )

    async def execute(self, conversation_id: str, action: str, *, deliver: bool) -> list[dict[str, Any]]:
        """Run `action` (a response such as `utter_caseworker_returned`) in the conversation. With
        `deliver` it goes out on the debtor's latest channel; otherwise Rasa collects the rendered
        messages and they are returned (for the SMS outbox)."""
        params = {"output_channel": "latest"} if deliver else None
        answer = await self._call(
            "POST", self._path(conversation_id, "execute"), operation="execute", body={"name": action}, params=params
        )
        # The dialogue then listens for the debtor, as after any turn; without this the policies
        # would take the response for the end of an unfinished turn.
        await self._call(
            "POST",
            self._path(conversation_id, "tracker/events"),
            operation="listen",
            body={"event": "action", "name": "action_listen"},
        )
        messages = answer.get("messages") if isinstance(answer, dict) else None
        return [message for message in messages or [] if isinstance(message, dict)]

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart (Rasa's tracker)."""
        answer = await self._call("GET", self._path(conversation_id, "tracker"), operation="tracker")
        events = answer.get("events") if isinstance(answer, dict) else None
        return [event for event in events or [] if isinstance(event, dict)]
