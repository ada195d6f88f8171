"""Live updates for the caseworker console: a handoff was created, taken, returned or resolved, or
a message was added to it.

Events carry ids and states only, never personal data: a listener reads what it shows from the
database. In one process they go straight to the subscribers (`InProcessEvents`). With
PostgreSQL they go through `NOTIFY` and every backoffice process `LISTEN`s on one connection
(`PostgresEvents`), so a caseworker on one replica sees what happened on another; the publishing
process gets its own events back the same way, so there is one path for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

CHANNEL = "debtbot_handoffs"
QUEUE_SIZE = 1000  # events a slow subscriber may fall behind before it is told to reload
RECONNECT_SECONDS = (0.5, 1, 2, 5, 10)


@dataclass(frozen=True)
class LiveEvent:
    type: str  # handoff.created, handoff.taken, handoff.returned, handoff.resolved, handoff.message
    handoff_id: int
    status: Optional[str] = None
    message_id: Optional[int] = None

    def to_json(self) -> str:
        return json.dumps({key: value for key, value in self.__dict__.items() if value is not None})

    @classmethod
    def from_json(cls, text: str) -> "LiveEvent":
        data = json.loads(text)
        return cls(
            type=str(data["type"]),
            handoff_id=int(data["handoff_id"]),
            status=data.get("status"),
            message_id=data.get("message_id"),
        )


OVERFLOW = LiveEvent(type="reload", handoff_id=0)  # a subscriber missed events: reload everything


@dataclass(eq=False)  # compared (and hashed) by identity: each one is a different listener
class Subscription:
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, event: LiveEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Rather than block the publisher, drop what is waiting and tell the console to reload.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(OVERFLOW)

    async def next(self, timeout: Optional[float] = None) -> Optional[LiveEvent]:
        """The next event, or None after `timeout` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None


class InProcessEvents:
    """Subscribers in this process get every event published in it."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def _fan_out(self, event: LiveEvent) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(event)

    async def publish(self, event: LiveEvent) -> None:
        self._fan_out(event)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class PostgresEvents(InProcessEvents):
    """Events through PostgreSQL's NOTIFY, received by every process that LISTENs."""

    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        super().__init__()
        self._engine = engine
        self._url = make_url(database_url)
        self._task: Optional[asyncio.Task] = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="live-events-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait_listening(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._listening.wait(), timeout)

    async def publish(self, event: LiveEvent) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    sa.text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": event.to_json()}
                )
        except Exception as error:  # the change is committed; a lost live update is not a failed request
            log.warning("live events: publishing failed: %s", type(error).__name__)

    def _received(self, _connection, _pid, _channel, payload: str) -> None:
        try:
            event = LiveEvent.from_json(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live events: an unreadable notification was ignored")
            return
        self._fan_out(event)

    async def _connect(self):
        import asyncpg

        url = self._url
        return await asyncpg.connect(
            host=url.host or "localhost",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=10,
        )

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            connection = None
            try:
                connection = await self._connect()
                await connection.add_listener(CHANNEL, self._received)
                if failures:
                    self._fan_out(OVERFLOW)  # events may have been missed while away
                failures = 0
                self._listening.set()
                while not connection.is_closed():
                    await asyncio.sleep(1)
                    await connection.execute("SELECT 1")  # notices a dropped connection
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._listening.clear()
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("live events: listener lost (%s); reconnecting in %ss", type(error).__name__, delay)
                await asyncio.sleep(delay)
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=2))


def live_events_for(engine: AsyncEngine, database_url: str) -> Any:
    """PostgreSQL's LISTEN/NOTIFY for a PostgreSQL database, in-process events otherwise."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresEvents(engine, database_url)
    return InProcessEvents()
