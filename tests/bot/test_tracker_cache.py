"""The tracker store's per-process cache: a turn reads only what changed, and no replica is ever
served a conversation older than the database's, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import to_sync_url
from bot.lock_store import RedisTicketLocks
from bot.tracker_store import RedactingSQLTrackerStore
from tests.conftest import POSTGRES_URL, REDIS_URL, needs_redis, postgres_available

DOMAIN = Domain.from_dict(
    {
        "intents": ["ask_balance"],
        "slots": {
            "turns": {"type": "float", "influence_conversation": False, "mappings": [{"type": "custom"}]},
            "requested_slot": {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]},
            "birth_date": {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]},
        },
    }
)
EVENTS_PER_TURN = 5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    return POSTGRES_URL


def replica(db_url: str) -> RedactingSQLTrackerStore:
    """The tracker store of one dialogue-server replica (each has its own cache)."""
    return RedactingSQLTrackerStore(domain=DOMAIN, host=db_url)


def new_sender() -> str:
    return f"cache-{uuid.uuid4().hex}"


async def take_turn(store: RedactingSQLTrackerStore, sender: str, text: str) -> DialogueStateTracker:
    """One turn as Rasa's processor has it: read, add the turn's events, save. Returns the
    tracker the turn started from."""
    tracker = await store.retrieve(sender)
    started_from = tracker
    if tracker is None:
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
            tracker.update(event)
    else:
        started_from = DialogueStateTracker.from_dict(sender, [e.as_dict() for e in tracker.events], DOMAIN.slots)
    turns = (tracker.get_slot("turns") or 0) + 1
    for event in (
        UserUttered(text, intent={"name": "ask_balance", "confidence": 0.9}),
        SlotSet("turns", turns),
        ActionExecuted("utter_balance"),
        BotUttered(f"svar {turns:.0f}"),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)
    await store.save(tracker)
    return started_from


def as_stored(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


async def fresh_read(db_url: str, sender: str) -> DialogueStateTracker:
    """The conversation read by a replica with nothing cached."""
    return await replica(db_url).retrieve(sender)


async def test_two_replicas_taking_turns_each_see_every_earlier_turn(db_url: str) -> None:
    first, second = replica(db_url), replica(db_url)
    sender = new_sender()
    for number in range(1, 13):
        store = first if number % 2 else second
        started_from = await take_turn(store, sender, f"melding {number}")
        if number > 1:
            texts = [e.text for e in started_from.events if isinstance(e, UserUttered)]
            assert texts == [f"melding {n}" for n in range(1, number)]
            assert started_from.get_slot("turns") == number - 1
    # Each replica now answers from its cache, and what it returns is what the database holds.
    expected = as_stored(await fresh_read(db_url, sender))
    assert len(expected) == 2 + 12 * EVENTS_PER_TURN  # the session from SessionStarted on, as Rasa reads it
    for store in (first, second):
        assert as_stored(await store.retrieve(sender)) == expected
        assert store.cache.get(sender) is not None


async def test_reads_of_one_conversation_at_once_apply_another_replicas_turns_once(db_url: str) -> None:
    """The database work runs in worker threads: a turn and the web chat's history (say) reading
    one conversation at the same moment must not both apply the same new events to the cache."""
    first, second = replica(db_url), replica(db_url)
    sender = new_sender()
    await take_turn(first, sender, "melding 1")
    for number in range(2, 6):
        await take_turn(second, sender, f"melding {number}")
    reads = await asyncio.gather(*(first.retrieve(sender) for _ in range(8)))
    expected = as_stored(await fresh_read(db_url, sender))
    assert all(as_stored(read) == expected for read in reads)
    assert as_stored(first.cache.get(sender).tracker) == expected


async def test_a_slow_database_holds_up_only_the_conversation_waiting_for_it(db_url: str, monkeypatch) -> None:
    """While one conversation's read waits for the database, the replica's event loop serves the
    others (the store reads and writes in worker threads)."""
    store = replica(db_url)
    slow, other = new_sender(), new_sender()
    await take_turn(store, slow, "melding 1")
    await take_turn(store, other, "melding 1")
    read = store._read

    def slow_read(sender_id: str, fetch_events_from_all_sessions: bool):
        if sender_id == slow:
            time.sleep(0.5)  # in the worker thread, as a slow database would
        return read(sender_id, fetch_events_from_all_sessions)

    monkeypatch.setattr(store, "_read", slow_read)
    slow_read = asyncio.ensure_future(store.retrieve(slow))
    await asyncio.sleep(0.05)
    assert not slow_read.done()
    await take_turn(store, other, "melding 2")  # while the slow read still waits
    assert not slow_read.done()
    assert [e.text for e in (await slow_read).events if isinstance(e, UserUttered)] == ["melding 1"]


async def test_a_read_fetches_only_the_rows_stored_since_whatever_the_length(db_url: str, monkeypatch) -> None:
    first, second = replica(db_url), replica(db_url)
    sender = new_sender()
    fetched: list[int] = []
    original = RedactingSQLTrackerStore._read_rows

    def counting(self, query):
        rows = original(self, query)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(RedactingSQLTrackerStore, "_read_rows", counting)
    per_turn = []
    for number in range(1, 41):
        fetched.clear()
        await take_turn(first if number % 2 else second, sender, f"melding {number}")
        per_turn.append(sum(fetched))
    # Turns 1 and 2 read the whole (short) conversation once per replica; from then on a read
    # fetches the replica's newest event and the other replica's last turn, never the history.
    assert per_turn[3:] == [1 + EVENTS_PER_TURN] * len(per_turn[3:])
    # Read again in the same replica that wrote last: its newest event alone.
    fetched.clear()
    await second.retrieve(sender)
    assert fetched == [1]


async def test_events_stored_by_another_replica_without_redaction_are_redacted_when_applied(db_url: str) -> None:
    store = replica(db_url)
    sender = new_sender()
    await take_turn(store, sender, "hei")
    await store.retrieve(sender)  # cached
    # A writer that does not redact (a replica on older code) stores a turn.
    tracker = await store.retrieve(sender)
    tracker.update(UserUttered("fnr 14838540024", intent={"name": "ask_balance", "confidence": 0.9}))
    await SQLTrackerStore(domain=DOMAIN, host=to_sync_url(db_url)).save(tracker)

    restored = await store.retrieve(sender)
    assert "14838540024" not in json.dumps(as_stored(restored))
    assert restored.latest_message.text == "fnr [fødselsnummer fjernet]"


async def test_an_erased_conversation_is_not_served_from_the_cache(db_url: str) -> None:
    store = replica(db_url)
    sender = new_sender()
    await take_turn(store, sender, "hei")
    await take_turn(store, sender, "hva skylder jeg?")
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender})
    assert await store.retrieve(sender) is None


async def test_a_new_session_started_elsewhere_is_read_afresh(db_url: str) -> None:
    first, second = replica(db_url), replica(db_url)
    sender = new_sender()
    await take_turn(first, sender, "hei")
    await take_turn(first, sender, "hva skylder jeg?")
    tracker = await second.retrieve(sender)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    await second.save(tracker)
    await take_turn(second, sender, "ny økt")

    restored = await first.retrieve(sender)
    assert [e.text for e in restored.events if isinstance(e, UserUttered)] == ["ny økt"]
    assert as_stored(restored) == as_stored(await fresh_read(db_url, sender))


async def test_changing_a_returned_tracker_does_not_change_the_next_read(db_url: str) -> None:
    store = replica(db_url)
    sender = new_sender()
    await take_turn(store, sender, "hei")
    before = as_stored(await store.retrieve(sender))

    tracker = await store.retrieve(sender)
    tracker.update(DefinePrevUserUtteredFeaturization(True))  # Rasa changes the latest message in place
    tracker.update(SlotSet("turns", 99))
    tracker.update(BotUttered("ikke lagret"))
    assert tracker.latest_message.use_text_for_featurization is True

    again = await store.retrieve(sender)
    assert as_stored(again) == before
    assert again.get_slot("turns") == 1
    assert again.latest_message.use_text_for_featurization is not True


async def test_a_birth_date_answer_is_redacted_across_turns_cached_in_between(db_url: str) -> None:
    store = replica(db_url)
    sender = new_sender()
    await take_turn(store, sender, "hei")
    tracker = await store.retrieve(sender)
    for event in (SlotSet("requested_slot", "birth_date"), BotUttered("Hva er fødselsdatoen din?")):
        tracker.update(event)
    await store.save(tracker)
    # The answer comes in the next turn, which starts from the cache: the requested slot before
    # it must still be known for the bare digits to be read as a birth date.
    tracker = await store.retrieve(sender)
    tracker.update(UserUttered("140385", intent={"name": "ask_balance", "confidence": 0.9}))
    tracker.update(SlotSet("birth_date", "1985-03-14"))
    await store.save(tracker)

    stored = json.dumps(as_stored(await fresh_read(db_url, sender)), ensure_ascii=False)
    assert "140385" not in stored and "1985-03-14" not in stored


@needs_redis
async def test_replicas_under_the_redis_lock_store_lose_and_repeat_no_turn(db_url: str) -> None:
    sender = new_sender()
    replicas = [(replica(db_url), RedisTicketLocks(REDIS_URL)) for _ in range(2)]
    await take_turn(replicas[0][0], sender, "hei")
    seen_before: list[int] = []

    async def turn(index: int) -> None:
        store, locks = replicas[index % 2]
        async with locks.lock(sender):
            started_from = await take_turn(store, sender, f"melding {index}")
            seen_before.append(int(started_from.get_slot("turns")))
            await asyncio.sleep(0)  # let the other replica queue for the lock meanwhile

    await asyncio.gather(*(turn(index) for index in range(1, 7)))
    final = await fresh_read(db_url, sender)
    texts = [e.text for e in final.events if isinstance(e, UserUttered)]
    assert sorted(texts[1:]) == sorted(f"melding {index}" for index in range(1, 7))
    assert sorted(seen_before) == list(range(1, 7))  # every turn started from all the turns before it
    assert final.get_slot("turns") == 7
