from __future__ import annotations

import asyncio
import uuid

from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import ConfiguredLockStore
from tests.conftest import REDIS_URL, needs_redis


async def exercise(store: ConfiguredLockStore) -> None:
    """Two turns of one conversation never run at the same time."""
    conversation = f"test-{uuid.uuid4().hex}"
    inside: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            inside.append(f"{name} in")
            await asyncio.sleep(0.05)
            inside.append(f"{name} out")

    await asyncio.gather(turn("a"), turn("b"))
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert store.get_lock(conversation) is None  # released and cleaned up


async def test_without_a_url_the_lock_store_is_in_memory() -> None:
    store = ConfiguredLockStore(EndpointConfig(url=""))
    assert isinstance(store.backend, InMemoryLockStore)
    await exercise(store)


@needs_redis
async def test_with_a_redis_url_locks_live_in_redis() -> None:
    store = ConfiguredLockStore(EndpointConfig(url=REDIS_URL))
    assert isinstance(store.backend, RedisLockStore)
    await exercise(store)
