"""Fixtures shared by the SMS spool and outage tests: the spool's database on SQLite and
PostgreSQL; the real case-system app on a loopback port that a test stops, starts again or makes
hang; stand-ins for Rasa's agent and message handling; a clock the tests move instead of sleeping;
and the SMS channel of a dialogue-server replica."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Awaitable, Callable, Optional
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from actions.case_system_client import CaseSystemClient
from bot.case_system.http.app import create_app
from bot.channels.twilio_sms import TwilioSmsInput
from bot.config import Settings, load_settings, to_sync_url
from bot.provisioning import prepare_case_system
from tests.bot.case_system.conftest import create_postgres_database, drop_postgres_database, postgres_unreachable_reason
from tests.bot.channels.agent_stand_in import Agent
from tests.e2e.conftest import free_port

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
API_KEY = "test-case-api-key"
CONVERSATION_ID_KEY = "k" * 32
KARI, OLA = "+4791234567", "+4798765432"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def spool_url(request, tmp_path):
    """The dialogue server's database (the tracker store's), where the spool lives."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    url = create_postgres_database("debtbot_spool")
    yield url
    drop_postgres_database(url)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


class CaseSystem:
    """The case-system app on one loopback port: stopped, started again, or hung (it takes the
    connection and never answers until it is started again)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self._server: Optional[TestServer] = None
        self._release: Optional[asyncio.Event] = None

    async def start(self) -> None:
        await self.stop()
        self._server = TestServer(create_app(self.settings), host="127.0.0.1", port=self.port)
        await self._server.start_server()

    async def hang(self) -> None:
        await self.stop()
        self._release = release = asyncio.Event()

        async def never_answer(_request: web.Request) -> web.Response:
            await release.wait()
            return web.json_response({"error": {"code": "gone"}}, status=503)

        app = web.Application()
        app.router.add_route("*", "/{path:.*}", never_answer)
        self._server = TestServer(app, host="127.0.0.1", port=self.port)
        await self._server.start_server()

    async def stop(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = None
        if self._server is not None:
            await self._server.close()
            self._server = None

    def rows(self, query: str) -> list[tuple]:
        engine = sa.create_engine(self.settings.database_url, future=True)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(sa.text(query))]
        finally:
            engine.dispose()

    def outbox(self, phone: str) -> list[str]:
        return [
            body for (body,) in self.rows(f"SELECT body FROM outbound_messages WHERE to_phone = '{phone}' ORDER BY id")
        ]

    def recorded(self) -> list[str]:
        return [sid for (sid,) in self.rows("SELECT message_sid FROM inbound_sms ORDER BY message_sid")]

    def opted_out(self) -> list[str]:
        return [phone for (phone,) in self.rows("SELECT phone FROM sms_opt_outs")]


class Dialogue:
    """Stands in for Rasa's message handling: logs the turn as Rasa does and answers "Svar N"."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.texts: list[str] = []
        self.after_turn: Optional[Callable[[], Awaitable[None]]] = None  # e.g. a crash

    async def __call__(self, message: UserMessage) -> None:
        self.texts.append(message.text)
        answer = f"Svar {len(self.texts)}"
        tracker = await self.agent.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        tracker.update(BotUttered(answer))
        tracker.update(ActionExecuted("action_listen"))
        await self.agent.tracker_store.save(tracker)
        if self.after_turn is not None:
            await self.after_turn()
        await message.output_channel.send_text_message(message.sender_id, answer)


def fields(body: str, sid: int = 1, phone: str = KARI, opt_out_type: str = "") -> dict[str, str]:
    return {"MessageSid": f"SM{sid:032x}", "From": phone, "Body": body, "NumMedia": "0", "OptOutType": opt_out_type}


def said(answer) -> Optional[str]:
    """The text the webhook's TwiML answers the SMS with, if any."""
    assert answer.status == 200
    message = ElementTree.fromstring(answer.body.decode()).find("Message")
    return None if message is None else message.text


def spool_stages(url: str) -> list[str]:
    engine = sa.create_engine(to_sync_url(url), future=True)
    try:
        with engine.connect() as connection:
            return [stage for (stage,) in connection.execute(sa.text("SELECT stage FROM sms_spool ORDER BY id"))]
    finally:
        engine.dispose()


@pytest.fixture
async def case_system(tmp_path):
    settings = load_settings(
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}", "CASE_API_KEY": API_KEY, "DEMO_MODE": "true"},
        env_file=Path("/nonexistent"),
    )
    await prepare_case_system(settings)
    system = CaseSystem(settings)
    await system.start()
    yield system
    await system.stop()


@pytest.fixture
def agent() -> Agent:
    return Agent()


@pytest.fixture
def dialogue(agent) -> Dialogue:
    return Dialogue(agent)


@pytest.fixture
async def make_channel(spool_url, case_system, clock):
    """A dialogue-server replica's SMS channel: its own case-system client, the shared spool.
    `clock=True` puts its spool work on the tests' clock; other options go to its SmsInbox."""
    tests_clock = clock
    made: list[TwilioSmsInput] = []

    def make(*, clock: bool = False, **inbox_options) -> TwilioSmsInput:
        settings = load_settings(
            env={"CONVERSATION_ID_KEY": CONVERSATION_ID_KEY, "TRACKER_STORE_URL": spool_url},
            env_file=Path("/nonexistent"),
        )
        client = CaseSystemClient(case_system.url, API_KEY, timeout_seconds=2)
        if clock:
            inbox_options["clock"] = tests_clock
        made.append(TwilioSmsInput(settings, client, **inbox_options))
        return made[-1]

    yield make
    for channel in made:
        await channel.inbox.stop()
        await channel.spool.close()
        await channel.case_system.close()


@pytest.fixture
def channel(make_channel) -> TwilioSmsInput:
    """A replica's channel on the tests' clock."""
    return make_channel(clock=True)
