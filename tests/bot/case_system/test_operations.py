"""The backoffice's /health/live, /health/ready and /metrics: counters move only when a request's
transaction commits, gauges are read at each scrape, and readiness follows the database: false
while PostgreSQL cannot be reached (a proxy in front of it is stopped), true again by itself."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot.case_system.http import operations
from bot.case_system.http.app import create_app
from tests.bot.case_system.conftest import add_caseworker, desk_env, make_settings, rasa  # noqa: F401 (fixtures)
from tests.tcp_proxy import TcpProxy

METRICS_TOKEN = "test-metrics-token"
KARI = {"case_number": "100001", "channel": "web", "conversation_id": "web:ops-1"}


def backoffice(settings, clock) -> TestClient:
    app = create_app(settings, clock=clock)
    operations.add_routes(app)
    return TestClient(TestServer(app))


async def scrape(client: TestClient) -> dict:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def ops_client(database_url, clock, desk_env):
    settings = make_settings(database_url, METRICS_TOKEN=METRICS_TOKEN, **desk_env)
    async with backoffice(settings, clock) as client:
        from bot.case_system.domain.demo_data import load_demo_data
        from bot.case_system.http.context import CASE_SYSTEM

        async with client.app[CASE_SYSTEM].sessions() as session:
            await load_demo_data(session, settings)
        yield client


async def test_verifications_handoffs_plans_and_rights_requests_are_counted_once_committed(
    ops_client, auth, clock
) -> None:
    before = await scrape(ops_client)
    ok = await ops_client.post("/api/v1/verifications", json={**KARI, "birth_date": "1985-03-14"}, headers=auth)
    wrong = await ops_client.post("/api/v1/verifications", json={**KARI, "birth_date": "1985-03-15"}, headers=auth)
    malformed = await ops_client.post("/api/v1/verifications", json={**KARI, "birth_date": "no date"}, headers=auth)
    assert (ok.status, wrong.status, malformed.status) == (200, 200, 422)
    handoff = {
        "conversation_id": "web:ops-1",
        "channel": "web",
        "reason": "debtor_request",
        "priority": "normal",
        "summary": "",
        "transcript": [],
    }
    created = await ops_client.post("/api/v1/handoffs", json=handoff, headers=auth)
    assert created.status in (200, 201), await created.text()
    await add_caseworker(ops_client, "anne")
    handoff_id = (await created.json())["id"]
    clock.advance(minutes=4)
    caseworker = {**auth, "X-Actor": "caseworker:anne"}
    taken = await ops_client.post(f"/api/v1/handoffs/{handoff_id}/take", headers=caseworker)
    assert taken.status == 200, await taken.text()
    plan = {"monthly_amount": "1000.00", "accepted": True, "channel": "web", "conversation_id": "web:ops-2"}
    planned = await ops_client.post("/api/v1/cases/100003/payment-plans", json=plan, headers=auth)
    assert planned.status in (200, 201), await planned.text()
    rights = {"type": "access", "channel": "web", "conversation_id": "web:ops-3"}
    logged = await ops_client.post("/api/v1/rights-requests", json=rights, headers=auth)
    assert logged.status in (200, 201), await logged.text()
    after = await scrape(ops_client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("debtbot_verifications_total", outcome="verified", channel="web") == 1
    assert moved("debtbot_verifications_total", outcome="refused", channel="web") == 1
    assert moved("debtbot_verifications_total", outcome="rejected_input", channel="web") == 0
    assert moved("debtbot_handoffs_total", reason="debtor_request", channel="web") == 1
    assert moved("debtbot_handoff_take_seconds_count") == 1
    assert moved("debtbot_handoff_take_seconds_sum") == 240  # taken four minutes after it was made
    assert moved("debtbot_payment_plans_created_total", channel="web") == 1
    assert moved("debtbot_rights_requests_total", type="access") == 1
    assert value(after, "debtbot_rights_requests_open") >= 1
    assert value(after, "debtbot_handoffs_waiting") == 0  # the one handoff was taken


async def test_a_rolled_back_transaction_counts_nothing(ops_client) -> None:
    from bot.case_system.domain import audit
    from bot.case_system.http.context import CASE_SYSTEM

    before = await scrape(ops_client)
    async with ops_client.app[CASE_SYSTEM].sessions() as session:
        audit.record(
            session,
            audit.AuditContext(),
            at=ops_client.app[CASE_SYSTEM].clock(),
            action="identity.verify",
            subject_type="case",
            subject_id="100001",
            outcome="verified",
            channel="web",
        )
        await session.flush()
        await session.rollback()
    after = await scrape(ops_client)
    assert value(after, "debtbot_verifications_total", outcome="verified", channel="web") == value(
        before, "debtbot_verifications_total", outcome="verified", channel="web"
    )


async def test_metrics_need_the_metrics_token(ops_client, auth) -> None:
    assert (await ops_client.get("/metrics")).status == 404
    assert (await ops_client.get("/metrics", headers=auth)).status == 404  # the API key is not the token


async def test_live_and_ready_on_a_working_database(ops_client) -> None:
    assert (await ops_client.get("/health/live")).status == 200
    ready = await ops_client.get("/health/ready")
    assert ready.status == 200 and (await ready.json())["checks"] == {"database": "ok"}


@pytest.mark.postgres
async def test_readiness_goes_false_while_the_database_is_down_and_recovers(migrated_postgres_url, clock) -> None:
    url = make_url(migrated_postgres_url)
    proxy = TcpProxy(url.host, url.port or 5432)
    await proxy.start()
    settings = make_settings(str(url.set(host="127.0.0.1", port=proxy.port)), METRICS_TOKEN=METRICS_TOKEN)
    async with backoffice(settings, clock) as client:
        assert (await client.get("/health/ready")).status == 200

        await proxy.cut()
        down = await client.get("/health/ready")
        assert down.status == 503 and (await down.json())["checks"] == {"database": "unreachable"}
        assert (await client.get("/health/live")).status == 200  # up, but not ready

        await proxy.restore()  # the same port: the database is back
        for _ in range(20):
            if (await client.get("/health/ready")).status == 200:
                break
            await asyncio.sleep(0.25)
        else:
            pytest.fail("readiness did not recover after the database came back")
