"""The SMS spool, the dialogue server's durable record of every inbound SMS: a message is kept once,
a conversation's messages are claimed oldest first and by one worker at a time (also by several
replicas at once), a claim is a lease, a failed try waits for its delay, and a finished message
keeps nothing but its id for a day. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.channels.sms_spool import ClaimLost, InboundSms, SmsSpool, Stage
from bot.config import to_sync_url
from tests.bot.channels.sms_fixtures import NOW, clock, spool_url  # noqa: F401  (fixtures)

KARI, OLA = "+4791234567", "+4798765432"


def sms(sid: int, conversation: str = "sms-kari", phone: str = KARI, body: str = "hei") -> InboundSms:
    return InboundSms(message_sid=f"SM{sid:032x}", conversation_id=conversation, phone=phone, body=body)


@pytest.fixture
async def spool(spool_url):
    spool = SmsSpool(spool_url)
    yield spool
    await spool.close()


def stored_rows(url: str) -> list[dict]:
    engine = sa.create_engine(to_sync_url(url), future=True)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text("SELECT * FROM sms_spool ORDER BY id"))]
    finally:
        engine.dispose()


def sids(rows) -> list[str]:
    return [row.message_sid for row in rows]


async def test_a_message_is_kept_once_with_what_the_webhook_took(spool, spool_url):
    message = InboundSms(
        message_sid="SM" + "1" * 32,
        conversation_id="sms-kari",
        phone=KARI,
        body="STOPP",
        num_media=0,
        opt_out_type="STOP",
    )
    assert await spool.keep(message, now=NOW) is True
    assert await spool.keep(message, now=NOW) is False  # Twilio's retry of the same MessageSid

    [row] = stored_rows(spool_url)
    assert (row["message_sid"], row["phone"], row["body"], row["opt_out_type"], row["stage"]) == (
        message.message_sid,
        KARI,
        "STOPP",
        "STOP",
        "received",
    )
    [kept] = await spool.claim(now=NOW)
    assert kept.message == message and kept.received_at == NOW


async def test_kept_messages_outlive_the_process_that_kept_them(spool_url):
    first = SmsSpool(spool_url)
    await first.keep(sms(1), now=NOW)
    await first.close()  # the dialogue server stops

    restarted = SmsSpool(spool_url)
    try:
        assert sids(await restarted.claim(now=NOW)) == [sms(1).message_sid]
    finally:
        await restarted.close()


async def test_only_a_conversations_oldest_message_is_claimed_and_only_once(spool):
    for sid, conversation in [(1, "sms-kari"), (2, "sms-kari"), (3, "sms-ola")]:
        await spool.keep(sms(sid, conversation), now=NOW)

    first = await spool.claim(now=NOW)
    assert sids(first) == [sms(1).message_sid, sms(3, "sms-ola").message_sid]
    assert await spool.claim(now=NOW) == []  # Kari's second message waits for her first

    await spool.finish(first[0], now=NOW)
    assert sids(await spool.claim(now=NOW)) == [sms(2).message_sid]


async def test_two_replicas_claiming_at_once_never_get_the_same_message(spool_url):
    replicas = [SmsSpool(spool_url), SmsSpool(spool_url)]
    try:
        for sid in range(40):
            await replicas[0].keep(sms(sid, f"sms-{sid}"), now=NOW)
        claimed: list[str] = []
        for _ in range(40):  # rounds of six claims at once by each replica, until none finds more
            claims = await asyncio.gather(*(replica.claim(now=NOW, limit=5) for replica in replicas * 6))
            if not any(claims):
                break
            claimed += [sid for rows in claims for sid in sids(rows)]
        assert sorted(claimed) == sorted(sms(sid).message_sid for sid in range(40))  # each once
    finally:
        for replica in replicas:
            await replica.close()


async def test_a_lease_that_ran_out_passes_the_message_on_and_the_late_worker_cannot_change_it(spool):
    await spool.keep(sms(1), now=NOW)
    [late] = await spool.claim(now=NOW)
    assert await spool.claim(now=NOW + spool.lease - timedelta(seconds=1)) == []

    [taken] = await spool.claim(now=NOW + spool.lease)
    with pytest.raises(ClaimLost):
        await spool.advance(late, now=NOW + spool.lease, stage=Stage.RECORDED)
    with pytest.raises(ClaimLost):
        await spool.finish(late, now=NOW + spool.lease)
    recorded = await spool.advance(taken, now=NOW + spool.lease, stage=Stage.RECORDED)
    assert recorded.stage is Stage.RECORDED


async def test_a_renewed_lease_is_not_taken(spool):
    await spool.keep(sms(1), now=NOW)
    [kept] = await spool.claim(now=NOW)
    await spool.renew(kept, now=NOW + timedelta(seconds=50))
    assert await spool.claim(now=NOW + spool.lease) == []


async def test_a_failed_try_waits_for_its_delay_and_holds_the_conversation_back(spool):
    await spool.keep(sms(1), now=NOW)
    await spool.keep(sms(2), now=NOW)
    [kept] = await spool.claim(now=NOW)
    await spool.retry_later(kept, now=NOW, delay=timedelta(seconds=4), error="case_system_unavailable")

    assert await spool.waiting("sms-kari") is True and await spool.waiting("sms-ola") is False
    assert await spool.next_due(now=NOW) == NOW + timedelta(seconds=4)
    assert await spool.claim(now=NOW + timedelta(seconds=3)) == []  # not due, and the second waits behind it
    [again] = await spool.claim(now=NOW + timedelta(seconds=4))
    assert again.message_sid == sms(1).message_sid and again.failures == 1
    progressed = await spool.advance(again, now=NOW + timedelta(seconds=4), stage=Stage.RECORDED)
    assert progressed.failures == 0


async def test_replies_are_kept_with_the_message_until_each_is_queued(spool):
    await spool.keep(sms(1), now=NOW)
    [kept] = await spool.claim(now=NOW)
    answered = await spool.advance(kept, now=NOW, stage=Stage.ANSWERED, replies=["Første", "Andre"], replies_queued=0)
    one_queued = await spool.advance(answered, now=NOW, replies_queued=1)
    await spool.retry_later(one_queued, now=NOW, delay=timedelta(seconds=1), error="outbox_unavailable")

    [resumed] = await spool.claim(now=NOW + timedelta(seconds=1))
    assert (resumed.stage, resumed.replies, resumed.replies_queued) == (Stage.ANSWERED, ("Første", "Andre"), 1)


async def test_a_finished_message_keeps_only_its_id_for_a_day_and_still_recognises_a_retry(spool, spool_url):
    await spool.keep(sms(1, body="Jeg heter Kari og skylder penger"), now=NOW)
    [kept] = await spool.claim(now=NOW)
    answered = await spool.advance(kept, now=NOW, stage=Stage.ANSWERED, replies=["Svar"])
    await spool.finish(answered, now=NOW)

    [row] = stored_rows(spool_url)
    assert row["stage"] == "done" and row["phone"] is None and row["body"] is None and row["replies"] is None
    assert await spool.keep(sms(1), now=NOW + timedelta(hours=1)) is False
    assert await spool.next_due(now=NOW) is None

    assert await spool.purge(finished_before=NOW) == 0
    assert await spool.purge(finished_before=NOW + timedelta(days=1, seconds=1)) == 1
    assert stored_rows(spool_url) == []


async def test_a_blocking_write_on_the_event_loop_never_waits_for_the_spool(tmp_path):
    """Rasa's SQL tracker store writes the same SQLite file with blocking calls on the event loop.
    A spool transaction must never need the loop to finish while it holds the write lock: the
    tracker store would wait for the lock and the lock for the loop (here 2 s of busy timeout
    instead of Rasa's 5, then "database is locked")."""
    path = tmp_path / "tracker.db"
    spool = SmsSpool(f"sqlite:///{path}")
    tracker_store = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 2}, future=True)
    with tracker_store.begin() as connection:
        connection.execute(sa.text("PRAGMA journal_mode=WAL"))  # as bot/tracker_store.py sets it
        connection.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))

    async def rasa_saves_turns() -> None:
        for _ in range(100):
            with tracker_store.begin() as connection:  # blocks the event loop, as Rasa's save does
                connection.execute(sa.text("INSERT INTO events (data) VALUES ('turn')"))
            await asyncio.sleep(0)

    async def spool_works(conversation: int) -> None:
        for sid in range(25):
            await spool.keep(sms(conversation * 100 + sid, f"sms-{conversation}"), now=NOW)
            for kept in await spool.claim(now=NOW, conversation_id=f"sms-{conversation}"):
                await spool.finish(kept, now=NOW)

    try:
        await asyncio.gather(rasa_saves_turns(), *(spool_works(conversation) for conversation in range(4)))
    finally:
        tracker_store.dispose()
        await spool.close()


def query_plan(url: str, statement: str, parameters) -> str:
    """The database's plan for a statement the spool ran, with the parameters it ran with."""
    engine = sa.create_engine(to_sync_url(url), future=True)
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(("EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN ") + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        finally:
            connection.close()
    finally:
        engine.dispose()


async def test_claims_and_polls_read_the_unfinished_messages_not_the_days_finished_ones(spool, spool_url):
    # A busy day leaves thousands of finished rows (kept a day for Twilio's retries); what the
    # claims and polls read is the few unfinished ones, through a partial index.
    for number in range(300):
        await spool.keep(sms(number, conversation=f"sms-{number % 40}"), now=NOW)
    while claimed := await spool.claim(now=NOW, limit=50):
        for kept in claimed:
            await spool.finish(kept, now=NOW)
    await spool.keep(sms(1000), now=NOW)
    engine = sa.create_engine(to_sync_url(spool_url), future=True)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE sms_spool" if spool_url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()

    statements = []

    def remember(_connection, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    try:
        assert sids(await spool.claim(now=NOW)) == [sms(1000).message_sid]
        await spool.next_due(now=NOW)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)
    claim = next(item for item in statements if item[0].lstrip().startswith("UPDATE sms_spool"))
    poll = next(item for item in statements if "min(" in item[0])
    for statement, parameters in (claim, poll):
        assert "ix_sms_spool_unfinished" in query_plan(spool_url, statement, parameters), statement


async def test_a_spool_table_made_before_the_partial_index_gets_it_on_first_use(spool_url):
    first = SmsSpool(spool_url)
    await first.keep(sms(1), now=NOW)
    await first.close()
    engine = sa.create_engine(to_sync_url(spool_url), future=True)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_sms_spool_unfinished"))
    engine.dispose()

    again = SmsSpool(spool_url)
    try:
        assert sids(await again.claim(now=NOW)) == [sms(1).message_sid]
    finally:
        await again.close()
    engine = sa.create_engine(to_sync_url(spool_url), future=True)
    try:
        assert "ix_sms_spool_unfinished" in {index["name"] for index in sa.inspect(engine).get_indexes("sms_spool")}
    finally:
        engine.dispose()
