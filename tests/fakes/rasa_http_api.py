"""A local stand-in for the dialogue server's HTTP API (Rasa's `/conversations/...` routes) on
127.0.0.1, recording every call the backoffice makes, for the caseworker tests.

It checks `?token=`, keeps a list of events per conversation as Rasa would (a `pause`, a
`resume`, a `bot` event), answers `execute` with the rendered messages when no output channel is
asked for (Rasa's CollectingOutputChannel), and can be told to fail or to be slow.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web
from aiohttp.test_utils import TestServer

RETURNED_TEXT = "Du snakker med assistenten igjen."


@dataclass
class RecordedCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeRasaApi:
    token: str = "test-rasa-token"
    calls: list[RecordedCall] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_with: Optional[int] = None  # answer every call with this status
    delay_seconds: float = 0.0
    server: Optional[TestServer] = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/conversations/{cid}/tracker/events", self._append)
        app.router.add_post("/conversations/{cid}/execute", self._execute)
        app.router.add_get("/conversations/{cid}/tracker", self._tracker)
        return app

    async def start(self) -> "FakeRasaApi":
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def calls_for(self, conversation_id: str) -> list[tuple[str, str, Any]]:
        """(method, last path part, body) of the calls about one conversation, in order."""
        return [
            (call.method, call.path.rsplit("/", 1)[-1], call.body)
            for call in self.calls
            if call.path.startswith(f"/conversations/{conversation_id}/")
        ]

    async def _record(self, request: web.Request) -> Optional[web.Response]:
        body = await request.json() if request.can_read_body else None
        self.calls.append(RecordedCall(request.method, request.path, dict(request.query), body))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if request.query.get("token") != self.token:
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        if self.fail_with is not None:
            return web.json_response({"status": "failure"}, status=self.fail_with)
        return None

    def _tracker_state(self, cid: str) -> dict[str, Any]:
        events = self.events.setdefault(cid, [])
        paused = False
        for event in events:
            paused = {"pause": True, "resume": False}.get(event["event"], paused)
        return {"sender_id": cid, "events": events, "paused": paused}

    async def _append(self, request: web.Request) -> web.Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        cid = request.match_info["cid"]
        body = self.calls[-1].body
        for event in body if isinstance(body, list) else [body]:
            self.events.setdefault(cid, []).append({**event, "timestamp": time.time()})
        return web.json_response(self._tracker_state(cid))

    async def _execute(self, request: web.Request) -> web.Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        cid = request.match_info["cid"]
        self.events.setdefault(cid, []).append({"event": "bot", "text": RETURNED_TEXT, "timestamp": time.time()})
        answer: dict[str, Any] = {"tracker": self._tracker_state(cid)}
        if "output_channel" not in request.query:
            answer["messages"] = [{"recipient_id": cid, "text": RETURNED_TEXT}]
        return web.json_response(answer)

    async def _tracker(self, request: web.Request) -> web.Response:
        refused = await self._record(request)
        if refused is not None:
            return refused
        return web.json_response(self._tracker_state(request.match_info["cid"]))
