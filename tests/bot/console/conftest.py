"""Fixtures for the console tests: the backoffice's case system with the console on a loopback
test server, over SQLite and PostgreSQL, with the dialogue server's stand-in, and a logged-in
browser-like client (cookie jar, CSRF token read from the page)."""

from __future__ import annotations

import contextlib
import re
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import console
from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.http.app import create_app
from bot.case_system.http.context import CASE_SYSTEM
from tests.bot.case_system.conftest import *  # noqa: F401,F403 (the database, clock and stand-in fixtures)
from tests.bot.case_system.conftest import add_caseworker, make_settings

PASSWORD = "riktig-passord-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console_factory(database_url, clock, desk_env):
    """Start the backoffice's case system and console: `async with console_factory() as client:`."""

    @contextlib.asynccontextmanager
    async def start(**env: str) -> AsyncIterator[TestClient]:
        settings = make_settings(database_url, **{**desk_env, "CONSOLE_SESSION_SECRET": "test-console-secret", **env})
        app = create_app(settings, clock=clock)
        console.add_routes(app, settings)
        async with TestClient(TestServer(app)) as client:
            async with client.app[CASE_SYSTEM].sessions() as session:
                await load_demo_data(session, settings)
            yield client

    return start


@pytest.fixture
async def browser(console_factory) -> AsyncIterator[TestClient]:
    async with console_factory() as client:
        yield client


async def csrf_of(client: TestClient, path: str = "/console/login") -> str:
    page = await client.get(path)
    match = CSRF.search(await page.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def log_in(client: TestClient, username: str, password: str = PASSWORD):
    token = await csrf_of(client)
    return await client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": token}, allow_redirects=False
    )


@pytest.fixture
async def anne(browser) -> TestClient:
    """`browser`, logged in as the caseworker anne."""
    await add_caseworker(browser, "anne", password=PASSWORD, name="Anne Saksbehandler")
    response = await log_in(browser, "anne")
    assert response.status == 303 and response.headers["Location"] == "/console/queue"
    return browser
