"""A cluster of its own (bot/cluster.py) for the load and fault tests: a fresh PostgreSQL database
and the machine's Redis, each behind a TCP proxy the tests can cut, free ports, fresh secrets.

The cluster tests run on the stack tests' xdist worker (`make test` runs two), one after the
other with them, never beside them: both load the machine's two cores. The fault tests take
minutes and run only when asked for: `pytest tests/cluster -m faults`."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.cluster import Cluster
from bot.config import Settings, load_settings
from tests.bot.case_system.conftest import create_postgres_database, drop_postgres_database, postgres_unreachable_reason
from tests.conftest import REDIS_URL, redis_available
from tests.tcp_proxy import TcpProxy

CLUSTER_START_SECONDS = 240


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "cluster: starts a cluster of its own behind nginx (tests/cluster)")
    config.addinivalue_line("markers", "faults: a fault injected into a cluster under load (minutes; -m faults)")


def pytest_collection_modifyitems(config, items) -> None:
    asked = "faults" in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker("cluster") is not None:
            item.add_marker(pytest.mark.xdist_group("stack"))
        if item.get_closest_marker("faults") is not None and not asked:
            item.add_marker(pytest.mark.skip(reason="fault tests take minutes: run them with -m faults"))


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports below Linux's ephemeral range."""
    while True:
        first = random.randrange(20000, 32000 - count)
        probes = []
        try:
            for port in range(first, first + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


def cluster_test_settings(database_url: str, redis_url: str) -> Settings:
    return load_settings(
        env={
            "DATABASE_URL": database_url,
            "TRACKER_STORE_URL": database_url,
            "REDIS_URL": redis_url,
            "CASE_API_KEY": secrets.token_urlsafe(16),
            "RASA_API_TOKEN": secrets.token_urlsafe(16),
            "CONVERSATION_ID_KEY": secrets.token_urlsafe(16),
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(16),
            "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
            "METRICS_TOKEN": secrets.token_urlsafe(16),
            "TWILIO_AUTH_TOKEN": secrets.token_urlsafe(16),
            "CLUSTER_PORT": str(free_ports(3)),
            "RASA_PORT": str(free_ports(2)),
            "ACTION_SERVER_PORT": str(free_ports(2)),
            "BACKOFFICE_PORT": str(free_ports(1)),
            "DIALOGUE_REPLICAS": "2",
            "ACTION_REPLICAS": "2",
            "DEMO_MODE": "true",
            **({"MODELS_DIR": os.environ["MODELS_DIR"]} if os.environ.get("MODELS_DIR") else {}),
        },
        env_file=Path("/nonexistent/.env"),
    )


@pytest.fixture(scope="session")
async def proxied_stores():
    """A fresh database and Redis, each through a proxy: (database URL, redis URL, pg proxy, redis proxy)."""
    reason = postgres_unreachable_reason()
    if reason or not redis_available:
        pytest.skip(reason or "Redis is not reachable on 127.0.0.1:6379")
    database = create_postgres_database("debtbot_cluster")
    database_url, redis = make_url(database), urlsplit(REDIS_URL)
    postgres_proxy = TcpProxy(database_url.host, database_url.port or 5432)
    redis_proxy = TcpProxy(redis.hostname, redis.port or 6379)
    await postgres_proxy.start()
    await redis_proxy.start()
    try:
        yield (
            str(database_url.set(host="127.0.0.1", port=postgres_proxy.port)),
            f"redis://127.0.0.1:{redis_proxy.port}{redis.path}",
            postgres_proxy,
            redis_proxy,
        )
    finally:
        await postgres_proxy.cut()
        await redis_proxy.cut()
        drop_postgres_database(database)


@pytest.fixture(scope="session")
async def cluster(proxied_stores, tmp_path_factory):
    database_url, redis_url, _, _ = proxied_stores
    running = Cluster(cluster_test_settings(database_url, redis_url), tmp_path_factory.mktemp("cluster"))
    await running.prepare()
    await running.start(timeout_seconds=CLUSTER_START_SECONDS)
    try:
        yield running
    finally:
        await running.stop()


async def rest_turn(cluster: Cluster, sender: str, text: str) -> tuple[int, list]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{cluster.public_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as reply:
            return reply.status, (await reply.json() if reply.status == 200 else [])


async def wait_ready(url: str, seconds: float) -> bool:
    """Whether `url` answers 200 within `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as reply:
                    if reply.status == 200:
                        return True
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.5)
    return False
