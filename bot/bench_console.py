"""The caseworkers' side of `debtbot bench` (issue 18's targets), on a running stack:

- a caseworker's reply, from the API call until the debtor's web page (python-socketio's client
  over long-polling: its websocket transport needs a newer aiohttp than Rasa allows, so the
  figure includes a long-poll round trip a browser on a websocket does not have) has it;
- a debtor's message in a taken conversation, from the page until the case system has it for
  the console (polled every 5 ms, so figures are up to 5 ms high);
- the console's queue page with 200 waiting handoffs, logged in as the demo caseworker.

It acts as the demo caseworker `demo` (demo mode); without that account it reports why it
measured nothing.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import Any, Callable

import aiohttp
import socketio

from bot.config import Settings

ROUNDS = 20
WAITING_HANDOFFS = 200
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebPage:
    """A debtor's web chat page, as the browser's Socket.IO client talks to the dialogue server."""

    def __init__(self, settings: Settings) -> None:
        self.base_url = f"http://{settings.host}:{settings.rasa_port}"
        self.conversation_id = "web-" + secrets.token_hex(16)
        self.client = socketio.AsyncClient(reconnection=False)
        self.said: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.client.on("bot_uttered", self._bot_uttered)

    async def _bot_uttered(self, data: dict[str, Any]) -> None:
        self.said.append(data)
        self._arrived.set()

    async def open(self) -> None:
        await self.client.connect(self.base_url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.conversation_id})
        await self.until(lambda: bool(self.said))

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text})

    async def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async def waiting() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(waiting(), timeout)

    async def close(self) -> None:
        await self.client.eio.disconnect(abort=True)  # not waiting for the long-poll in flight


class CaseApi:
    def __init__(self, http: aiohttp.ClientSession, settings: Settings, actor: str = "caseworker:demo") -> None:
        self.http = http
        self.base_url = settings.case_api_url
        self.headers = {"Authorization": f"Bearer {settings.case_api_key}", "X-Actor": actor}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.base_url + path, headers=self.headers, **kwargs) as response:
            return response.status, await response.json(content_type=None)


async def takeover_latencies(http: aiohttp.ClientSession, settings: Settings) -> dict[str, list[float]]:
    """Reply-to-page and debtor-to-console latencies in one taken web conversation (ms)."""
    api = CaseApi(http, settings)
    page = WebPage(settings)
    await page.open()
    try:
        await page.say("jeg vil snakke med et menneske")
        await page.say("nei")  # not verified: asked how to be reached first; no contact given
        await page.until(lambda: any(message.get("handoff") for message in page.said))
        status, listed = await api.call("GET", "/handoffs", params={"status": "open"})
        handoff_id = next(h["id"] for h in listed["handoffs"] if h["conversation_id"] == page.conversation_id)
        status, _ = await api.call("POST", f"/handoffs/{handoff_id}/take")
        if status != 200:
            raise RuntimeError(f"the demo caseworker could not take the handoff (HTTP {status})")
        to_page, to_console = [], []
        for round_ in range(ROUNDS):
            text = f"Saksbehandlerens melding {round_}"
            started = time.perf_counter()
            await api.call("POST", f"/handoffs/{handoff_id}/messages", json={"text": text})
            await page.until(lambda text=text: any(message.get("text") == text for message in page.said))
            to_page.append((time.perf_counter() - started) * 1000)

            answer = f"Skyldnerens svar {round_}"
            started = time.perf_counter()
            await page.say(answer)
            while True:
                _, detail = await api.call("GET", f"/handoffs/{handoff_id}")
                if any(m["from"] == "debtor" and m["text"] == answer for m in detail["messages"]):
                    break
                await asyncio.sleep(0.005)
            to_console.append((time.perf_counter() - started) * 1000)
        await api.call("POST", f"/handoffs/{handoff_id}/resolve", json={"outcome": "other", "note": "bench"})
        return {"reply_to_web_page": to_page, "debtor_message_to_console": to_console}
    finally:
        await page.close()


async def queue_page_latencies(http: aiohttp.ClientSession, settings: Settings) -> list[float]:
    """The console's queue page with WAITING_HANDOFFS open handoffs (ms per page)."""
    api = CaseApi(http, settings, actor="assistant:rest")
    for number in range(WAITING_HANDOFFS):
        handoff = {
            "conversation_id": f"rest-bench-queue-{secrets.token_hex(6)}-{number}",
            "channel": "rest",
            "reason": "requested",
            "priority": "high" if number % 10 == 0 else "normal",
            "summary": "bench",
            "transcript": [],
        }
        status, _ = await api.call("POST", "/handoffs", json=handoff)
        if status not in (200, 201):
            raise RuntimeError(f"could not create a handoff for the queue (HTTP {status})")
    console = f"http://{settings.host}:{settings.backoffice_port}/console"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{console}/login") as response:
            token = CSRF.search(await response.text()).group(1)
        login = {"username": "demo", "password": settings.caseworker_demo_password, "csrf_token": token}
        async with browser.post(f"{console}/login", data=login, allow_redirects=False) as response:
            if response.status not in (302, 303):
                raise RuntimeError(f"the demo caseworker could not log in (HTTP {response.status})")
        latencies = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            async with browser.get(f"{console}/queue") as response:
                page = await response.text()
                response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
        if page.count("data-handoff=") < WAITING_HANDOFFS:
            raise RuntimeError("the queue page did not list every waiting handoff")
        return latencies
