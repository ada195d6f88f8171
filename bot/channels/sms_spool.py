"""The SMS channel's spool: every inbound SMS is written here before anything else is done with it.

A small table, `sms_spool`, in the dialogue server's own database (the tracker store's,
`TRACKER_STORE_URL`: SQLite by default, PostgreSQL in production), so that a kept message
survives a restart and every dialogue-server replica sees it. The table is created on first use,
as Rasa creates its own `events` table in the same database. The async engine (aiosqlite or
asyncpg) keeps the event loop free; statement parameters are hidden from error messages, because
they hold phone numbers and message text.

A row goes through stages: `received` (kept; the case system has not recorded it yet),
`recorded` (the dialogue has not answered yet), `answered` (the reply SMS bodies are kept with the
row until each is in the case system's outbox), and `done`.

The rows of one conversation are worked on one at a time, oldest first: only a conversation's
oldest unfinished row (its head) can be claimed. A claim is a lease taken by one conditional
UPDATE (`claimed_until <= now`), which the database applies to a row for one caller only, so any
number of replicas can drain the same table. Every later change names the claim, so a replica
whose lease ran out cannot change a row that another has claimed since; a replica that dies leaves
its rows to whoever claims them once the lease has run out.

A finished row keeps only its message id, for a day (no number, no text, no replies): Twilio's
retry of a message that was already answered is then recognised here and not answered again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.config import to_async_url

# aiosqlite logs every statement with its parameters (numbers, message text) at DEBUG.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

LEASE = timedelta(seconds=60)
NOT_CLAIMED = datetime(1970, 1, 1, tzinfo=timezone.utc)  # claimed_until of a row nobody holds
SQLITE_BUSY_TIMEOUT_MS = 5000


class Stage(str, enum.Enum):
    RECEIVED = "received"
    RECORDED = "recorded"
    ANSWERED = "answered"
    DONE = "done"


class ClaimLost(Exception):
    """The row's lease ran out and another worker has claimed it (or finished it) since."""


class UTCDateTime(sa.types.TypeDecorator):
    """An aware UTC datetime: `timestamptz` on PostgreSQL, naive UTC text on SQLite (which also
    compares correctly there), made aware again when read."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = sa.MetaData()

spool_table = sa.Table(
    "sms_spool",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # the order of arrival
    sa.Column("message_sid", sa.String(64), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("phone", sa.String(20)),  # E.164; removed when done
    sa.Column("body", sa.Text),  # removed when done; empty for a message over the length limit
    sa.Column("num_media", sa.Integer, nullable=False),
    sa.Column("opt_out_type", sa.String(16)),
    sa.Column("too_long", sa.Boolean, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("replies", sa.Text),  # a JSON list of SMS bodies once answered; removed when done
    sa.Column("replies_queued", sa.Integer, nullable=False),  # how many of them are in the outbox
    sa.Column("failures", sa.Integer, nullable=False),  # failed tries in a row at this stage
    sa.Column("last_error", sa.String(64)),  # a code, never a message text
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("claim", sa.String(32)),
    sa.Column("claimed_until", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Index("ix_sms_spool_conversation", "conversation_id", "id"),
    sa.Index("ix_sms_spool_stage_due", "stage", "next_attempt_at"),
)


@dataclass(frozen=True)
class InboundSms:
    """An SMS as the webhook took it."""

    message_sid: str
    conversation_id: str  # the keyed hash of the number (bot/channels/conversation_ids.py)
    phone: str  # E.164
    body: str  # empty for a picture only, and for a message over the length limit
    num_media: int = 0
    opt_out_type: Optional[str] = None
    too_long: bool = False


@dataclass(frozen=True)
class KeptSms:
    """A spooled SMS as a worker holds it: the message, how far it has come, and the claim."""

    id: int
    message: InboundSms
    received_at: datetime
    stage: Stage
    replies: tuple[str, ...] = ()
    replies_queued: int = 0
    failures: int = 0
    claim: Optional[str] = None

    @property
    def message_sid(self) -> str:
        return self.message.message_sid

    @property
    def conversation_id(self) -> str:
        return self.message.conversation_id


def _kept(row: Any) -> KeptSms:
    return KeptSms(
        id=row.id,
        message=InboundSms(
            message_sid=row.message_sid,
            conversation_id=row.conversation_id,
            phone=row.phone or "",
            body=row.body or "",
            num_media=row.num_media,
            opt_out_type=row.opt_out_type,
            too_long=row.too_long,
        ),
        received_at=row.received_at,
        stage=Stage(row.stage),
        replies=tuple(json.loads(row.replies)) if row.replies else (),
        replies_queued=row.replies_queued,
        failures=row.failures,
        claim=row.claim,
    )


def spool_engine(url: str) -> AsyncEngine:
    """An async engine for the tracker store's database `url` (a blocking driver's URL is
    switched to its asyncio driver)."""
    url = to_async_url(url)
    options: dict[str, Any] = {"future": True, "hide_parameters": True}
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # aiosqlite opens a connection and a thread per checkout unless pooled.
        options.update(poolclass=AsyncAdaptedQueuePool, pool_size=2, max_overflow=4)
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    if backend == "postgresql":
        options.update(pool_size=2, max_overflow=4, pool_pre_ping=True)
    return create_async_engine(url, **options)


def _configure_sqlite(dbapi_connection, _record) -> None:
    # The tracker store writes to the same file: wait for its lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SmsSpool:
    """The `sms_spool` table of the database at `url`; every method is one short transaction."""

    def __init__(self, url: str, *, lease: timedelta = LEASE) -> None:
        self.url = url
        self.lease = lease
        self._engine: Optional[AsyncEngine] = None
        self._ready: Optional[asyncio.Lock] = None

    async def engine(self) -> AsyncEngine:
        """The engine, with the table created on first use."""
        if self._engine is None:
            self._ready = self._ready or asyncio.Lock()
            async with self._ready:
                if self._engine is None:
                    engine = spool_engine(self.url)
                    try:
                        await _create_table(engine)
                    except BaseException:
                        await engine.dispose()
                        raise
                    self._engine = engine
        return self._engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def keep(self, message: InboundSms, *, now: datetime) -> bool:
        """Writes `message` down; False when a message with its id is already here (a retry)."""
        engine = await self.engine()
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    spool_table.insert().values(
                        message_sid=message.message_sid,
                        conversation_id=message.conversation_id,
                        phone=message.phone,
                        body=message.body,
                        num_media=message.num_media,
                        opt_out_type=message.opt_out_type,
                        too_long=message.too_long,
                        received_at=now,
                        stage=Stage.RECEIVED.value,
                        replies_queued=0,
                        failures=0,
                        next_attempt_at=now,
                        claimed_until=NOT_CLAIMED,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def claim(self, *, now: datetime, conversation_id: Optional[str] = None, limit: int = 10) -> list[KeptSms]:
        """Claims up to `limit` conversation heads whose next try is due (only the head of
        `conversation_id`, when given), oldest first, for `lease`. One statement: of workers
        claiming at the same time, each row goes to one."""
        head, earlier = spool_table.alias("head"), spool_table.alias("earlier")
        is_head = ~sa.exists().where(
            earlier.c.conversation_id == head.c.conversation_id,
            earlier.c.stage != Stage.DONE.value,
            earlier.c.id < head.c.id,
        )
        candidates = sa.select(head.c.id).where(
            head.c.stage != Stage.DONE.value, head.c.next_attempt_at <= now, head.c.claimed_until <= now, is_head
        )
        if conversation_id is not None:
            candidates = candidates.where(head.c.conversation_id == conversation_id)
        candidates = candidates.order_by(head.c.id).limit(limit)
        token = secrets.token_hex(16)
        engine = await self.engine()
        async with engine.begin() as connection:
            await connection.execute(
                spool_table.update()
                .where(
                    spool_table.c.id.in_(candidates),
                    # Checked again on the row itself: PostgreSQL re-reads a row that a concurrent
                    # claim changed before applying this one.
                    spool_table.c.stage != Stage.DONE.value,
                    spool_table.c.next_attempt_at <= now,
                    spool_table.c.claimed_until <= now,
                )
                .values(claim=token, claimed_until=now + self.lease)
            )
            rows = await connection.execute(
                sa.select(spool_table).where(spool_table.c.claim == token).order_by(spool_table.c.id)
            )
            return [_kept(row) for row in rows]

    async def waiting(self, conversation_id: str) -> bool:
        """Whether an unfinished message of the conversation is waiting for another try."""
        query = sa.select(spool_table.c.id).where(
            spool_table.c.conversation_id == conversation_id,
            spool_table.c.stage != Stage.DONE.value,
            spool_table.c.failures > 0,
        )
        engine = await self.engine()
        async with engine.connect() as connection:
            return (await connection.execute(query.limit(1))).first() is not None

    async def advance(
        self,
        kept: KeptSms,
        *,
        now: datetime,
        stage: Optional[Stage] = None,
        replies: Optional[list[str]] = None,
        replies_queued: Optional[int] = None,
    ) -> KeptSms:
        """Records progress on a claimed row (and renews its lease)."""
        values: dict[str, Any] = {"failures": 0, "last_error": None, "claimed_until": now + self.lease}
        changed: dict[str, Any] = {"failures": 0}
        if stage is not None:
            values["stage"], changed["stage"] = stage.value, stage
        if replies is not None:
            values["replies"], changed["replies"] = json.dumps(list(replies)), tuple(replies)
        if replies_queued is not None:
            values["replies_queued"] = changed["replies_queued"] = replies_queued
        await self._update_claimed(kept, values)
        return dataclasses.replace(kept, **changed)

    async def retry_later(self, kept: KeptSms, *, now: datetime, delay: timedelta, error: str) -> None:
        """Gives a claimed row up until `now + delay`, counting a failed try."""
        await self._update_claimed(
            kept,
            {
                "failures": spool_table.c.failures + 1,
                "last_error": error[:64],
                "next_attempt_at": now + delay,
                "claim": None,
                "claimed_until": NOT_CLAIMED,
            },
        )

    async def renew(self, kept: KeptSms, *, now: datetime) -> None:
        await self._update_claimed(kept, {"claimed_until": now + self.lease})

    async def finish(self, kept: KeptSms, *, now: datetime) -> None:
        """The row's work is done: only its message id stays, to recognise a late retry."""
        await self._update_claimed(
            kept,
            {
                "stage": Stage.DONE.value,
                "phone": None,
                "body": None,
                "opt_out_type": None,
                "replies": None,
                "last_error": None,
                "claim": None,
                "claimed_until": NOT_CLAIMED,
                "finished_at": now,
            },
        )

    async def purge(self, *, finished_before: datetime) -> int:
        """Deletes finished rows older than `finished_before`; returns how many."""
        engine = await self.engine()
        async with engine.begin() as connection:
            result = await connection.execute(
                spool_table.delete().where(
                    spool_table.c.stage == Stage.DONE.value, spool_table.c.finished_at < finished_before
                )
            )
            return result.rowcount

    async def next_due(self, *, now: datetime) -> Optional[datetime]:
        """When a conversation head may next be claimed: its next try, or the end of the lease
        another worker holds on it. None when nothing is unfinished."""
        head, earlier = spool_table.alias("head"), spool_table.alias("earlier")
        is_head = ~sa.exists().where(
            earlier.c.conversation_id == head.c.conversation_id,
            earlier.c.stage != Stage.DONE.value,
            earlier.c.id < head.c.id,
        )
        due = sa.case(
            (head.c.claimed_until > head.c.next_attempt_at, head.c.claimed_until), else_=head.c.next_attempt_at
        )
        query = sa.select(sa.func.min(due)).where(head.c.stage != Stage.DONE.value, is_head)
        engine = await self.engine()
        async with engine.connect() as connection:
            return (await connection.execute(query)).scalar()

    async def _update_claimed(self, kept: KeptSms, values: dict[str, Any]) -> None:
        engine = await self.engine()
        async with engine.begin() as connection:
            result = await connection.execute(
                spool_table.update()
                .where(spool_table.c.id == kept.id, spool_table.c.claim == kept.claim)
                .values(**values)
            )
        if result.rowcount != 1:
            raise ClaimLost(f"sms spool row {kept.id}")


async def _create_table(engine: AsyncEngine) -> None:
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    except SQLAlchemyError:
        # Another replica created it at the same moment; a second look finds it there.
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
