"""The lock store: a conversation's turns one at a time and in order, in memory (one process) or
in Redis (replicas), where taking a ticket is atomic and nothing blocks the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from urllib.parse import urlsplit

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockError
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import ConfiguredLockStore, RedisTicketLocks
from tests.conftest import REDIS_URL, needs_redis
from tests.tcp_proxy import TcpProxy


def new_conversation() -> str:
    return f"test-{uuid.uuid4().hex}"


async def exercise(store: ConfiguredLockStore) -> str:
    """Two turns of one conversation never run at the same time."""
    conversation = new_conversation()
    inside: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            inside.append(f"{name} in")
            await asyncio.sleep(0.05)
            inside.append(f"{name} out")

    await asyncio.gather(turn("a"), turn("b"))
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    return conversation


async def test_without_a_url_the_lock_store_is_in_memory() -> None:
    store = ConfiguredLockStore(EndpointConfig(url=""))
    assert isinstance(store.backend, InMemoryLockStore)
    conversation = await exercise(store)
    assert store.get_lock(conversation) is None  # released and cleaned up


@needs_redis
async def test_with_a_redis_url_locks_live_in_redis_and_go_when_released() -> None:
    store = ConfiguredLockStore(EndpointConfig(url=REDIS_URL))
    assert isinstance(store.backend, RedisTicketLocks)
    conversation = await exercise(store)
    assert await store.backend.redis.exists(RedisTicketLocks.key(conversation)) == 0


@needs_redis
async def test_replicas_taking_tickets_at_the_same_moment_are_served_one_at_a_time_in_order() -> None:
    """Rasa's Redis lock store read a lock, changed it in Python and wrote it back: two replicas
    could take the same ticket. Here each replica has its own client, and 20 turns race."""
    replicas = [RedisTicketLocks(REDIS_URL) for _ in range(4)]
    conversation = new_conversation()
    running = 0
    overlapped = False
    served: list[int] = []

    async def turn(number: int) -> None:
        nonlocal running, overlapped
        await asyncio.sleep(0.001 * (number % 3))
        async with replicas[number % 4].lock(conversation):
            running += 1
            overlapped = overlapped or running > 1
            served.append(number)
            await asyncio.sleep(0.005)
            running -= 1

    await asyncio.gather(*(turn(number) for number in range(20)))
    assert not overlapped
    assert sorted(served) == list(range(20))
    assert await replicas[0].held_tickets(conversation) == 0


@needs_redis
async def test_turns_are_served_in_the_order_their_tickets_were_taken() -> None:
    locks = RedisTicketLocks(REDIS_URL)
    conversation = new_conversation()
    order: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with locks.lock(conversation):
            first_in.set()
            await asyncio.sleep(0.2)
            order.append("first")

    async def later(name: str, delay: float) -> None:
        await first_in.wait()
        await asyncio.sleep(delay)
        async with locks.lock(conversation):
            order.append(name)

    await asyncio.gather(first(), later("second", 0.01), later("third", 0.05))
    assert order == ["first", "second", "third"]


@needs_redis
async def test_a_ticket_left_by_a_dead_replica_expires_and_frees_the_conversation() -> None:
    locks = RedisTicketLocks(REDIS_URL)
    conversation = new_conversation()
    # A replica took a ticket with a one-second lifetime and died holding it.
    await locks._issue(keys=[RedisTicketLocks.key(conversation)], args=[1])
    started = asyncio.get_running_loop().time()
    async with locks.lock(conversation):
        waited = asyncio.get_running_loop().time() - started
    assert 0.8 < waited < 3


@needs_redis
async def test_a_waiting_turn_whose_own_ticket_expires_is_refused() -> None:
    locks = RedisTicketLocks(REDIS_URL)
    conversation = new_conversation()
    holder_in = asyncio.Event()

    async def holder() -> None:
        async with locks.lock(conversation, lock_lifetime=30):
            holder_in.set()
            await asyncio.sleep(1.5)

    async def waiter() -> None:
        await holder_in.wait()
        async with locks.lock(conversation, lock_lifetime=0.5):
            pass

    results = await asyncio.gather(holder(), waiter(), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], LockError)


@needs_redis
async def test_waiting_for_a_turn_leaves_the_event_loop_free() -> None:
    locks = RedisTicketLocks(REDIS_URL)
    conversation = new_conversation()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    clock = asyncio.ensure_future(ticker())
    try:
        async with locks.lock(conversation):
            await asyncio.gather(*(asyncio.sleep(0.3), _a_turn_behind(locks, conversation)))
    finally:
        await _cancelled(clock)
    assert ticks >= 20


async def _a_turn_behind(locks: RedisTicketLocks, conversation: str) -> None:
    waiting = asyncio.ensure_future(_take(locks, conversation))
    await asyncio.sleep(0.25)
    assert not waiting.done()
    await _cancelled(waiting)


async def _cancelled(task: asyncio.Task) -> None:
    """Cancels `task` and waits for it to end (a task left pending is reported when the loop closes)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _take(locks: RedisTicketLocks, conversation: str) -> None:
    async with locks.lock(conversation):
        pass


@needs_redis
async def test_an_unreachable_redis_fails_the_turn_with_a_lock_error_soon(caplog) -> None:
    redis = urlsplit(REDIS_URL)
    proxy = TcpProxy(redis.hostname, redis.port or 6379)
    await proxy.start()
    try:
        locks = RedisTicketLocks(f"redis://127.0.0.1:{proxy.port}{redis.path}", timeout_seconds=0.5)
        with caplog.at_level(logging.WARNING, logger="bot.lock_store"):
            async with locks.lock(new_conversation()):
                await proxy.cut()  # Redis goes while the turn runs: the turn still ends normally
        assert "turn lock not released" in caplog.text
        await proxy.restore()
        async with locks.lock(new_conversation()):
            pass
        await proxy.cut()
        with pytest.raises(LockError):
            async with locks.lock(new_conversation()):
                pass
        await proxy.restore()
        async with locks.lock(new_conversation()):  # recovered without a restart
            pass
    finally:
        await proxy.cut()
