"""The SMS channel's spool: every inbound SMS is written here before anything else is done with it.

A small table, `sms_spool`, in the dialogue server's own database (the tracker store's,
`TRACKER_STORE_URL`: SQLite by default, PostgreSQL in production), so that a kept message
survives a restart and every dialogue-server replica sees it. The table is created on first use,
as Rasa creates its own `events` table in the same database. Statement parameters are hidden
from error messages: they hold phone numbers and message text.

Each transaction runs whole in a worker thread with the blocking driver (pysqlite, psycopg2), not
with an asyncio driver. Rasa's SQL tracker store writes the same SQLite file with blocking calls on
the event loop; an asyncio transaction that holds SQLite's write lock across an `await` needs the
loop to finish, while the loop waits for that lock. Tried first, that stalled the loop for the 5 s
busy timeout and Rasa lost the turn's events ("database is locked"); a thread commits whatever the
loop is doing.

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
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from bot.config import to_sync_url

LEASE = timedelta(seconds=60)
NOT_CLAIMED = datetime(1970, 1, 1, tzinfo=timezone.utc)  # claimed_until of a row nobody holds
SQLITE_BUSY_TIMEOUT = 5.0  # seconds a write waits for SQLite's lock


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


def unfinished(table: sa.Table) -> sa.sql.ColumnElement:
    """A row not done yet. The constant is written into the statement (whatever the driver does
    with parameters), so that the database sees that the partial index of unfinished rows
    (below) covers the query."""
    return table.c.stage != sa.literal_column(f"'{Stage.DONE.value}'")


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
# Finished rows stay for a day (a late Twilio retry is recognised by them): thousands on a busy
# day. The claims and polls look only at unfinished rows, a few, through this index; without it
# every poll read all of the day's rows.
UNFINISHED_INDEX = sa.Index(
    "ix_sms_spool_unfinished",
    spool_table.c.conversation_id,
    spool_table.c.id,
    postgresql_where=unfinished(spool_table),
    sqlite_where=unfinished(spool_table),
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


def spool_engine(url: str) -> sa.engine.Engine:
    """A blocking engine for the tracker store's database `url` (an asyncio driver's URL is
    switched back), used from worker threads only."""
    url = to_sync_url(url)
    options: dict[str, Any] = {"future": True, "hide_parameters": True, "pool_size": 2, "max_overflow": 4}
    if make_url(url).get_backend_name() == "sqlite":
        # A pooled connection moves between worker threads; the tracker store writes to the same
        # file, so a write waits for its lock (up to 5 s) instead of failing at once.
        options.update(poolclass=QueuePool, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT})
        engine = sa.create_engine(url, **options)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **options)


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # As the tracker store sets it (bot/tracker_store.py): readers never wait for a writer.
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass  # the switch needs the file to itself; the tracker store's connections make it too
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SmsSpool:
    """The `sms_spool` table of the database at `url`. Every method is one short transaction,
    run whole in a worker thread."""

    def __init__(self, url: str, *, lease: timedelta = LEASE) -> None:
        self.url = url
        self.lease = lease
        self._engine: Optional[sa.engine.Engine] = None
        self._ready: Optional[asyncio.Lock] = None

    async def _run(self, work: Callable[[sa.engine.Engine], Any]) -> Any:
        if self._engine is None:
            self._ready = self._ready or asyncio.Lock()
            async with self._ready:
                if self._engine is None:
                    self._engine = await asyncio.to_thread(_engine_with_table, self.url)
        return await asyncio.to_thread(work, self._engine)

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await asyncio.to_thread(engine.dispose)

    async def keep(self, message: InboundSms, *, now: datetime) -> bool:
        """Writes `message` down; False when a message with its id is already here (a retry)."""
        insert = spool_table.insert().values(
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

        def work(engine: sa.engine.Engine) -> bool:
            try:
                with engine.begin() as connection:
                    connection.execute(insert)
            except IntegrityError:
                return False
            return True

        return await self._run(work)

    async def claim(self, *, now: datetime, conversation_id: Optional[str] = None, limit: int = 10) -> list[KeptSms]:
        """Claims up to `limit` conversation heads whose next try is due (only the head of
        `conversation_id`, when given), oldest first, for `lease`. One statement: of workers
        claiming at the same time, each row goes to one."""
        head = spool_table.alias("head")
        candidates = sa.select(head.c.id).where(
            unfinished(head), head.c.next_attempt_at <= now, head.c.claimed_until <= now, _is_head(head)
        )
        if conversation_id is not None:
            candidates = candidates.where(head.c.conversation_id == conversation_id)
        candidates = candidates.order_by(head.c.id).limit(limit)
        token = secrets.token_hex(16)
        claim = (
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
        claimed = sa.select(spool_table).where(spool_table.c.claim == token).order_by(spool_table.c.id)

        def work(engine: sa.engine.Engine) -> list[KeptSms]:
            with engine.begin() as connection:
                connection.execute(claim)
                return [_kept(row) for row in connection.execute(claimed)]

        return await self._run(work)

    async def waiting(self, conversation_id: str) -> bool:
        """Whether an unfinished message of the conversation is waiting for another try."""
        query = sa.select(spool_table.c.id).where(
            spool_table.c.conversation_id == conversation_id,
            unfinished(spool_table),
            spool_table.c.failures > 0,
        )

        def work(engine: sa.engine.Engine) -> bool:
            with engine.connect() as connection:
                return connection.execute(query.limit(1)).first() is not None

        return await self._run(work)

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
        delete = spool_table.delete().where(
            spool_table.c.stage == Stage.DONE.value, spool_table.c.finished_at < finished_before
        )

        def work(engine: sa.engine.Engine) -> int:
            with engine.begin() as connection:
                return connection.execute(delete).rowcount

        return await self._run(work)

    async def next_due(self, *, now: datetime) -> Optional[datetime]:
        """When a conversation head may next be claimed: its next try, or the end of the lease
        another worker holds on it. None when nothing is unfinished."""
        head = spool_table.alias("head")
        due = sa.case(
            (head.c.claimed_until > head.c.next_attempt_at, head.c.claimed_until), else_=head.c.next_attempt_at
        )
        query = sa.select(sa.func.min(due)).where(unfinished(head), _is_head(head))

        def work(engine: sa.engine.Engine) -> Optional[datetime]:
            with engine.connect() as connection:
                return connection.execute(query).scalar()

        return await self._run(work)

    async def _update_claimed(self, kept: KeptSms, values: dict[str, Any]) -> None:
        update = (
            spool_table.update().where(spool_table.c.id == kept.id, spool_table.c.claim == kept.claim).values(**values)
        )

        def work(engine: sa.engine.Engine) -> int:
            with engine.begin() as connection:
                return connection.execute(update).rowcount

        if await self._run(work) != 1:
            raise ClaimLost(f"sms spool row {kept.id}")


def _is_head(head) -> sa.sql.ColumnElement:
    """Whether `head` is its conversation's oldest unfinished row."""
    earlier = spool_table.alias("earlier")
    return ~sa.exists().where(
        earlier.c.conversation_id == head.c.conversation_id,
        unfinished(earlier),
        earlier.c.id < head.c.id,
    )


def _engine_with_table(url: str) -> sa.engine.Engine:
    engine = spool_engine(url)
    try:
        _create_table(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _create_table(engine: sa.engine.Engine) -> None:
    try:
        _create_missing(engine)
    except SQLAlchemyError:
        # Another replica created it at the same moment; a second look finds it there.
        _create_missing(engine)


def _create_missing(engine: sa.engine.Engine) -> None:
    """The table, and any index a table made by an earlier version lacks."""
    metadata.create_all(engine)
    UNFINISHED_INDEX.create(engine, checkfirst=True)
