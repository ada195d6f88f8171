"""The dialogue server's readiness (/health/ready) checks the Redis lock store it shares with the
other replicas."""

from __future__ import annotations

from types import SimpleNamespace

from rasa.utils.endpoints import EndpointConfig

from bot.dialogue_operations import readiness
from bot.lock_store import ConfiguredLockStore
from tests.conftest import REDIS_URL, needs_redis


def agent_with_locks(url: str) -> SimpleNamespace:
    return SimpleNamespace(
        is_ready=lambda: True, tracker_store=None, lock_store=ConfiguredLockStore(EndpointConfig(url=url))
    )


@needs_redis
async def test_ready_while_redis_answers() -> None:
    assert await readiness(agent_with_locks(REDIS_URL)) == {"model": "ok", "lock_store": "ok"}


async def test_not_ready_while_redis_cannot_be_reached() -> None:
    checks = await readiness(agent_with_locks("redis://127.0.0.1:1/0"))  # nothing listens on port 1
    assert checks["lock_store"] == "unreachable"


async def test_one_process_with_locks_in_memory_has_no_lock_store_to_check() -> None:
    assert await readiness(agent_with_locks("")) == {"model": "ok"}
