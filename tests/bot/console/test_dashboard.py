"""The operator's dashboard: supervisors only, today's figures from the tracker store's sessions
and the case system's records, and an honest "unknown" when the tracker store cannot be read."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from tests.bot.case_system.conftest import add_caseworker
from tests.bot.console.conftest import PASSWORD, log_in

KARI = {"case_number": "100001", "channel": "web", "conversation_id": "web:dash-1"}


def tracker_database(path: Path, now: float, sessions_today: list[str], sessions_before: list[str]) -> str:
    """A tracker store with Rasa's `events` table and the given conversations' session starts."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp FLOAT,"
                " intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
        rows = [(s, now - 60) for s in sessions_today] + [(s, now - 3 * 86400) for s in sessions_before]
        for sender, at in rows:
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp) VALUES (:s, 'session_started', :t)"),
                {"s": sender, "t": at},
            )
    engine.dispose()
    return url


def figure(page: str, label: str) -> str:
    match = re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert match, label
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


async def test_a_caseworker_without_the_supervisor_role_cannot_see_it(browser) -> None:
    await add_caseworker(browser, "anne", password=PASSWORD)
    await log_in(browser, "anne")
    assert (await browser.get("/console/dashboard")).status == 403
    assert "/console/dashboard" not in await (await browser.get("/console/queue")).text()


async def test_the_supervisor_sees_todays_figures(console_factory, tmp_path, auth, clock) -> None:
    today = ["web:a", "web:b", "web:dash-1", "sms:x"]
    tracker = tracker_database(tmp_path / "tracker.db", clock.now.timestamp(), today, ["web:old"])
    async with console_factory(TRACKER_STORE_URL=tracker) as client:
        await add_caseworker(client, "sofie", role="supervisor", password=PASSWORD, name="Sofie Leder")
        for birth_date in ("1985-03-15", "1985-03-16"):
            await client.post("/api/v1/verifications", json={**KARI, "birth_date": birth_date}, headers=auth)
        handoff = {"conversation_id": "web:dash-1", "channel": "web", "reason": "debtor_request"}
        assert (await client.post("/api/v1/handoffs", json=handoff, headers=auth)).status in (200, 201)

        await log_in(client, "sofie")
        response = await client.get("/console/dashboard")
        assert response.status == 200
        page = await response.text()

    assert figure(page, "Samtaler i dag") == "4"
    assert figure(page, "Løst uten saksbehandler") == "75 %"  # one of four was handed off
    assert figure(page, "Overføringer som venter") == "1"
    assert figure(page, "Mislykkede identitetskontroller i dag") == "2 (herav låst 0)"


async def test_an_unreadable_tracker_store_is_said_not_hidden(console_factory, tmp_path) -> None:
    async with console_factory(TRACKER_STORE_URL=f"sqlite:///{tmp_path / 'missing' / 'tracker.db'}") as client:
        await add_caseworker(client, "sofie", role="supervisor", password=PASSWORD, name="Sofie Leder")
        await log_in(client, "sofie")
        page = await (await client.get("/console/dashboard")).text()
    assert figure(page, "Samtaler i dag") == "ukjent (samtalelageret svarer ikke)"
    assert figure(page, "Løst uten saksbehandler") == "–"
