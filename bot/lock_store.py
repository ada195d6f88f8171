"""One lock-store entry in endpoints.yml for both set-ups: Redis when a URL is given, else memory."""

from __future__ import annotations

from typing import Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


def redis_lock_store(url: Text) -> RedisLockStore:
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    return RedisLockStore(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=database,
        username=parts.username,
        password=parts.password,
        use_ssl=parts.scheme == "rediss",
    )


class ConfiguredLockStore(LockStore):
    """Delegates to a Redis lock store (shared by replicas) or an in-memory one (one process)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = (endpoint_config.url if endpoint_config else None) or ""
        self.backend: LockStore = redis_lock_store(url) if url.strip() else InMemoryLockStore()

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.backend.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.backend.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.backend.save_lock(lock)
