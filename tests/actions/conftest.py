"""Actions run against a real case-system app, with demo data, served on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from aiohttp.test_utils import TestServer
from rasa_sdk import Tracker

from actions import services
from actions.case_system_client import CaseSystemClient
from bot.case_system.http.app import create_app
from bot.config import Settings, load_settings
from bot.provisioning import prepare_case_system

API_KEY = "test-case-api-key"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}", "CASE_API_KEY": API_KEY, "DEMO_MODE": "true"},
        env_file=tmp_path / "no.env",
    )


@pytest.fixture
def case_system_clock() -> Optional[Callable[[], datetime]]:
    """The case system's clock: the real one, unless a test module pins it."""
    return None


@pytest.fixture
async def case_system_server(settings: Settings, case_system_clock: Optional[Callable[[], datetime]]):
    await prepare_case_system(settings)
    server = TestServer(create_app(settings, clock=case_system_clock), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def client(settings: Settings, case_system_server: TestServer):
    client = CaseSystemClient(str(case_system_server.make_url("/api/v1")), API_KEY, timeout_seconds=5)
    services.use(settings=settings, case_system=client)
    yield client
    await client.close()
    services.use()


def make_tracker(
    slots: Optional[dict[str, Any]] = None,
    *,
    sender_id: str = "web-test-conversation",
    channel: str = "socketio",
    text: str = "",
    entities: Optional[list[dict]] = None,
    events: Optional[list[dict]] = None,
    metadata: Optional[dict] = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": "inform"}, "entities": entities or [], "metadata": metadata or {}}
    user_event = {
        "event": "user",
        "text": text,
        "timestamp": 1_780_000_000,
        "input_channel": channel,
        "parse_data": latest,
    }
    return Tracker(
        sender_id=sender_id,
        slots={"language": "nb", "verified": False, **(slots or {})},
        latest_message=latest,
        events=[*(events or []), user_event],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def slot_events(events: list[dict]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def responses(dispatcher) -> list[str]:
    return [message.get("response") for message in dispatcher.messages]
