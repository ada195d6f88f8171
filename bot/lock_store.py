"""One lock-store entry in endpoints.yml for both set-ups: Redis when a URL is given (replicas
share it), else memory (one process).

The Redis locks are Rasa's ticket locks (a conversation's turns are served one at a time, in the
order they came, and a ticket held past its lifetime expires so that a dead replica cannot block
a conversation), kept differently from Rasa's RedisLockStore in two ways:

- each step is one Lua script, atomic in Redis: Rasa's reads the lock, changes it in Python and
  writes it back, so two replicas taking a ticket for one conversation at the same moment (an SMS
  retried by Twilio while the first try is still served, say) could both get the same number and
  run their turns at once;
- the commands are awaited (redis.asyncio): Rasa's are blocking calls, six a turn, during which
  the replica's event loop serves no other conversation.

An uncontended turn costs two round trips: a ticket that is served at once, and its release.
Expiry is measured by Redis's clock, the same for every replica.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

# Not Rasa's "lock:": its locks are strings, never expire, and one left by a replica that died
# mid-turn would make every script here fail on that conversation (WRONGTYPE).
KEY_PREFIX = "turn-lock:"
# How often a turn waiting behind another turn of its conversation asks again.
POLL_SECONDS = 0.05
# A Redis that does not answer within this fails the turn (the channel apologises) rather than hold it.
REDIS_TIMEOUT_SECONDS = 5.0

# A lock is a hash: `last` (the last ticket number issued) and `t:<number>` (that ticket's expiry,
# in seconds by Redis's clock). The tickets' order is their numbers'.
_EXPIRE_AND_FIND_FIRST = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local fields = redis.call('HGETALL', KEYS[1])
local first = nil
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 2) == 't:' then
    if tonumber(fields[i + 1]) <= now then
      redis.call('HDEL', KEYS[1], name)
    else
      local number = tonumber(string.sub(name, 3))
      if first == nil or number < first then first = number end
    end
  end
end
"""

# ARGV: lifetime in seconds. Returns {ticket number, 1 if it is served now else 0}.
ISSUE_TICKET = (
    _EXPIRE_AND_FIND_FIRST
    + """
local number = redis.call('HINCRBY', KEYS[1], 'last', 1)
local lifetime = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 't:' .. number, now + lifetime)
redis.call('PEXPIRE', KEYS[1], math.ceil(lifetime * 1000) + 1000)
if first == nil then first = number end
return {number, first == number and 1 or 0}
"""
)

# ARGV: ticket number. Returns 1 when it is served now, 0 when it waits, -1 when it expired.
IS_SERVED = (
    _EXPIRE_AND_FIND_FIRST
    + """
if redis.call('HEXISTS', KEYS[1], 't:' .. ARGV[1]) == 0 then return -1 end
return first == tonumber(ARGV[1]) and 1 or 0
"""
)

# ARGV: ticket number. The lock goes when no ticket is left.
RELEASE = (
    _EXPIRE_AND_FIND_FIRST
    + """
redis.call('HDEL', KEYS[1], 't:' .. ARGV[1])
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(name, 1, 2) == 't:' then return 1 end
end
redis.call('DEL', KEYS[1])
return 1
"""
)


class RedisTicketLocks(LockStore):
    """Ticket locks in Redis, each step atomic and awaited (see the module's docstring)."""

    def __init__(self, url: Text, timeout_seconds: float = REDIS_TIMEOUT_SECONDS) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._issue = self.redis.register_script(ISSUE_TICKET)
        self._is_served = self.redis.register_script(IS_SERVED)
        self._release = self.redis.register_script(RELEASE)

    @staticmethod
    def key(conversation_id: Text) -> str:
        return KEY_PREFIX + conversation_id

    async def ping(self) -> None:
        await self.redis.ping()

    async def held_tickets(self, conversation_id: Text) -> int:
        """Tickets issued and not yet released or expired (for tests and operators)."""
        fields = await self.redis.hkeys(self.key(conversation_id))
        return sum(1 for field in fields if field.startswith(b"t:"))

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[None]:
        key = self.key(conversation_id)
        try:
            ticket, served = await self._issue(keys=[key], args=[lock_lifetime])
        except Exception as error:  # Redis unreachable or failing: as Rasa's lock store raises
            raise LockError(f"Could not issue a ticket for a conversation: {type(error).__name__}") from error
        try:
            poll = min(wait_time_in_seconds, POLL_SECONDS)
            while not served:
                await asyncio.sleep(poll)
                state = await self._is_served(keys=[key], args=[ticket])
                if state < 0:
                    raise LockError("A conversation's ticket expired while it waited for the turn before it.")
                served = state == 1
            yield
        finally:
            await self._release_quietly(key, ticket)

    async def _release_quietly(self, key: str, ticket: int) -> None:
        """Releases `ticket`; if Redis cannot be reached, the ticket expires after its lifetime."""
        try:
            await self._release(keys=[key], args=[ticket])
        except Exception as error:  # the turn is done either way
            log.warning(
                "turn lock not released; it expires by itself", extra={"fields": {"error": type(error).__name__}}
            )


class ConfiguredLockStore(LockStore):
    """Delegates to Redis ticket locks (shared by replicas) or Rasa's in-memory ones (one process)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = (endpoint_config.url if endpoint_config else None) or ""
        self.backend: LockStore = RedisTicketLocks(url) if url.strip() else InMemoryLockStore()

    def lock(self, conversation_id: Text, *args, **kwargs):  # type: ignore[override]
        return self.backend.lock(conversation_id, *args, **kwargs)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.backend.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.backend.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.backend.save_lock(lock)
