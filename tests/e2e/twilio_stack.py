"""A stack with Twilio configured: signed webhooks, and SMS delivered to a local fake of
Twilio's API (tests/fakes/twilio_api.py) through the real twilio client."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Optional
from xml.etree import ElementTree

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from bot.config import Settings
from bot.provisioning import prepare_case_system, train_model
from bot.runner import Stack
from tests.e2e.conftest import free_port, isolated_settings
from tests.fakes.twilio_api import FakeTwilioApi, signed_post_args

ACCOUNT_SID = "AC" + "1" * 32
FROM_NUMBER = "+4759440000"
TRANSFER_TO = "+4722000000"


def twilio_settings(root: Path, fake_port: int) -> Settings:
    return isolated_settings(
        root,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=f"http://127.0.0.1:{fake_port}",
        SMS_DELIVERY_POLL_SECONDS="1",
        VOICE_TRANSFER_TO=TRANSFER_TO,
        # Twilio signs the public address; here it is a made-up https one, as in production.
        PUBLIC_BASE_URL="https://assistant.example.test",
    )


class TwilioStack:
    def __init__(self, settings: Settings, fake: FakeTwilioApi, stack: Optional[Stack] = None) -> None:
        self.settings = settings
        self.fake = fake
        self.stack = stack  # the three processes (`stack.services`), for tests that stop one
        self.http: Optional[aiohttp.ClientSession] = None

    def local_url(self, path: str) -> str:
        return f"http://{self.settings.host}:{self.settings.rasa_port}{path}"

    async def post_signed(self, path: str, params: dict[str, str], *, signature: Optional[str] = "valid"):
        """POST form fields to a webhook as Twilio does, signed for PUBLIC_BASE_URL + path."""
        args = signed_post_args(self.settings.public_base_url + path, params, self.settings.twilio_auth_token)
        if signature is None:
            args["headers"] = {}
        elif signature != "valid":
            args["headers"] = {"X-Twilio-Signature": signature}
        async with self.http.post(self.local_url(path), **args) as response:
            return response.status, await response.text()

    async def tracker_events(self, conversation_id: str) -> list[dict]:
        url = self.local_url(f"/conversations/{conversation_id}/tracker")
        params = {"token": self.settings.rasa_api_token, "include_events": "ALL"}
        async with self.http.get(url, params=params) as response:
            assert response.status == 200
            return (await response.json())["events"]

    async def case_api(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.settings.case_api_key}"}
        async with self.http.request(method, f"{self.settings.case_api_url}{path}", headers=headers, **kwargs) as r:
            return r.status, await r.json()

    async def until_recorded(self, message_sid: str, timeout: float = 30.0) -> None:
        """Until the case system has recorded an inbound SMS (the webhook answers before that).
        Polls the database a bounded number of times: the work runs in another process."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.database_rows(f"SELECT 1 FROM inbound_sms WHERE message_sid = '{message_sid}'"):
            assert asyncio.get_running_loop().time() < deadline, "the inbound SMS was never recorded"
            await asyncio.sleep(0.05)

    def database_rows(self, query: str, *, url: Optional[str] = None) -> list:
        """Rows of the case system's database, or of the database at `url`."""
        engine = sa.create_engine(url or self.settings.database_url, future=True)
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.text(query)))
        finally:
            engine.dispose()

    def spooled(self) -> list[tuple[str, str]]:
        """(MessageSid, stage) of every SMS in the dialogue server's spool (bot/channels/sms_spool.py)."""
        query = "SELECT message_sid, stage FROM sms_spool ORDER BY id"
        return [tuple(row) for row in self.database_rows(query, url=self.settings.tracker_store_url)]


async def start_twilio_stack(root: Path):
    """Yields a running TwilioStack; stops everything afterwards."""
    fake_port = free_port()
    settings = twilio_settings(root, fake_port)
    fake = FakeTwilioApi(ACCOUNT_SID, settings.twilio_auth_token)
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", fake_port).start()
    train_model(settings)
    await prepare_case_system(settings)
    stack = Stack(settings, log_dir=root / "logs")  # kept so that a failed start says why
    await stack.start()
    twilio_stack = TwilioStack(settings, fake, stack)
    try:
        await stack.wait_healthy(timeout_seconds=180)
        async with aiohttp.ClientSession() as http:
            twilio_stack.http = http
            yield twilio_stack
    finally:
        await stack.stop()
        await runner.cleanup()


def parse_twiml(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    assert root.tag == "Response"
    return root
