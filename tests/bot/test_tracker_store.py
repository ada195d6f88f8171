"""The tracker store never persists a national identity number, the SMS sender's number or a
birth date given for verification, on SQLite and PostgreSQL; the turn that uses them still has
them in memory."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import to_sync_url
from bot.nlu.entity_extractor import extract_entities
from bot.nlu.normalisers import today_in_oslo
from bot.tracker_store import RedactingSQLTrackerStore
from tests.conftest import POSTGRES_URL, postgres_available

NATIONAL_ID = "14838540024"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    return POSTGRES_URL


async def test_identity_numbers_never_reach_the_database(db_url: str) -> None:
    domain = Domain.from_dict({"slots": {"national_id": {"type": "text", "mappings": [{"type": "custom"}]}}})
    store = RedactingSQLTrackerStore(domain=domain, host=db_url)
    sender = f"test-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, domain.slots)
    tracker.update(
        UserUttered(
            f"saksnr 100001, fnr {NATIONAL_ID}",
            intent={"name": "inform", "confidence": 0.99},
            entities=[{"entity": "national_id", "value": NATIONAL_ID, "start": 20, "end": 31}],
            parse_data={"text": f"saksnr 100001, fnr {NATIONAL_ID}"},
        )
    )
    tracker.update(SlotSet("national_id", NATIONAL_ID))
    tracker.update(BotUttered(f"echo {NATIONAL_ID[:6]} {NATIONAL_ID[6:]}"))
    await store.save(tracker)

    with store.engine.connect() as connection:
        rows = (
            connection.execute(sa.text("SELECT data FROM events WHERE sender_id = :sender"), {"sender": sender})
            .scalars()
            .all()
        )
    assert len(rows) == 3
    stored = "\n".join(rows)
    assert NATIONAL_ID not in stored
    assert "148385 40024" not in stored
    assert "100001" in stored  # case numbers are not identity numbers

    restored = await store.retrieve(sender)
    assert restored.get_slot("national_id") != NATIONAL_ID


async def test_payment_instructions_are_stored_as_sent_and_identity_numbers_still_go(db_url: str) -> None:
    # The account number (mod-11) and the KID are eleven digits too; neither is an identity number.
    instructions = "Betal til kontonummer 1503.20.00115 og bruk KID 00001000066."
    store = RedactingSQLTrackerStore(domain=Domain.empty(), host=db_url)
    sender = f"test-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    for event in (
        UserUttered("hvordan betaler jeg? fnr 140385 40069", intent={"name": "ask_how_to_pay", "confidence": 0.9}),
        BotUttered(instructions),
        UserUttered("betalt fra 12063512344 med KID 00001000066", intent={"name": "inform", "confidence": 0.9}),
    ):
        tracker.update(event)
    await store.save(tracker)

    with store.engine.connect() as connection:
        stored = "\n".join(
            connection.execute(sa.text("SELECT data FROM events WHERE sender_id = :sender"), {"sender": sender})
            .scalars()
            .all()
        )
    assert "140385 40069" not in stored and "14038540069" not in stored
    restored = await store.retrieve(sender)
    texts = [event.text for event in restored.events if isinstance(event, (UserUttered, BotUttered))]
    assert texts == [
        "hvordan betaler jeg? fnr [fødselsnummer fjernet]",
        instructions,
        "betalt fra 12063512344 med KID 00001000066",
    ]


# --- an SMS verification: the sender's number and the birth date stay out ----------------------

PHONE = "+4791234567"
BIRTH_DATE_PLACEHOLDER = "[fødselsdato fjernet]"  # what a removed birth date leaves in a text
BIRTH_DATE_WRITTEN = ("14.03.1985", "14/3/85", "140385", "14031985", "14. mars 1985", "1985-03-14", "14 03 1985")
VERIFICATION_DOMAIN = Domain.from_dict(
    {
        "entities": ["case_number", "birth_date", "national_id", "date"],
        # Rasa adds `session_started_metadata` itself.
        "slots": {
            name: {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]}
            for name in ("case_number", "birth_date", "national_id", "requested_slot")
        }
        | {"verified": {"type": "bool", "influence_conversation": False, "mappings": [{"type": "custom"}]}},
    }
)


def sms_message(text: str) -> UserUttered:
    """A user message as the NLU pipeline and the SMS channel leave it."""
    entities = extract_entities(text, today_in_oslo())
    return UserUttered(
        text,
        intent={"name": "inform", "confidence": 0.9},
        entities=entities,
        parse_data={"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": entities},
        input_channel="twilio_sms",
        metadata={"sender_phone": PHONE},
    )


def turn_asking_for_the_birth_date(tracker: DialogueStateTracker) -> None:
    for event in (
        SlotSet("session_started_metadata", {"sender_phone": PHONE}),
        SessionStarted(),
        ActionExecuted("action_listen"),
        sms_message("100001"),
        SlotSet("case_number", "100001"),
        SlotSet("requested_slot", "birth_date"),
        BotUttered("Takk. Hva er fødselsdatoen din?"),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)


def turn_answering_it(tracker: DialogueStateTracker, written: str) -> None:
    message = sms_message(written)
    found = [entity["entity"] for entity in message.entities]
    for event in (
        message,
        # Rasa fills slots from the message's entities before the form validates them.
        *([SlotSet("case_number", written)] if found == ["case_number"] else []),
        *([SlotSet("birth_date", "1985-03-14")] if "birth_date" in found else []),
        SlotSet("case_number", "100001"),
        SlotSet("birth_date", "1985-03-14"),
        SlotSet("requested_slot", None),
        ActionExecuted("action_verify_identity"),
        SlotSet("birth_date", None),
        SlotSet("verified", True),
        BotUttered("Takk, nå har jeg bekreftet hvem du er."),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)


def stored_rows(store: RedactingSQLTrackerStore, sender: str) -> list[dict]:
    with store.engine.connect() as connection:
        rows = (
            connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
            )
            .scalars()
            .all()
        )
    return [json.loads(row) for row in rows]


def personal_data_in(serialised: str, written: str) -> list[str]:
    values = (PHONE, PHONE[3:], "1985-03-14", written, "14.03.1985")
    return [value for value in values if value in serialised]


@pytest.mark.parametrize("written", BIRTH_DATE_WRITTEN)
async def test_an_sms_verification_leaves_no_phone_number_and_no_birth_date_in_the_store(
    db_url: str, written: str
) -> None:
    store = RedactingSQLTrackerStore(domain=VERIFICATION_DOMAIN, host=db_url)
    sender = f"sms-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, VERIFICATION_DOMAIN.slots)
    turn_asking_for_the_birth_date(tracker)
    await store.save(tracker)
    tracker = await store.retrieve(sender)  # the next turn starts from the store, as in Rasa
    turn_answering_it(tracker, written)
    await store.save(tracker)

    # The turn itself ran on the tracker in memory: the SMS check read the number from it.
    assert tracker.latest_message.metadata["sender_phone"] == PHONE
    rows = stored_rows(store, sender)
    assert personal_data_in(json.dumps(rows, ensure_ascii=False), written) == []
    assert rows[0] == {**rows[0], "name": "session_started_metadata", "value": {}}
    user_rows = [row for row in rows if row["event"] == "user"]
    assert [row["text"] for row in user_rows] == ["100001", BIRTH_DATE_PLACEHOLDER]
    answer = user_rows[-1]
    assert answer["parse_data"]["text"] == BIRTH_DATE_PLACEHOLDER
    assert all(row.get("value") is None for row in rows if row["event"] == "slot" and row["name"] == "birth_date")
    assert "100001" in json.dumps(rows)  # the case number is no birth date and is kept

    restored = await store.retrieve(sender)
    assert restored.get_slot("birth_date") is None
    assert restored.get_slot("case_number") == "100001"
    assert personal_data_in(json.dumps([e.as_dict() for e in restored.events], ensure_ascii=False), written) == []


async def test_a_birth_date_given_with_the_case_number_is_removed_and_the_case_number_kept(db_url: str) -> None:
    store = RedactingSQLTrackerStore(domain=VERIFICATION_DOMAIN, host=db_url)
    sender = f"rest-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, VERIFICATION_DOMAIN.slots)
    message = sms_message("saksnummer 100001, fødselsdato 14.03.1985")
    tracker.update(message)
    tracker.update(SlotSet("birth_date", "1985-03-14"))
    await store.save(tracker)

    stored = stored_rows(store, sender)
    assert stored[0]["text"] == f"saksnummer 100001, fødselsdato {BIRTH_DATE_PLACEHOLDER}"
    entities = {entity["entity"]: entity for entity in stored[0]["parse_data"]["entities"]}
    assert entities["case_number"]["value"] == "100001"
    assert entities["birth_date"]["value"] == BIRTH_DATE_PLACEHOLDER
    assert stored[0]["text"][entities["birth_date"]["start"] : entities["birth_date"]["end"]] == BIRTH_DATE_PLACEHOLDER
    assert stored[1]["value"] is None


async def test_a_payment_date_outside_verification_is_kept(db_url: str) -> None:
    store = RedactingSQLTrackerStore(domain=VERIFICATION_DOMAIN, host=db_url)
    sender = f"rest-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, VERIFICATION_DOMAIN.slots)
    tracker.update(sms_message("jeg betalte 14.03"))
    await store.save(tracker)
    assert stored_rows(store, sender)[0]["text"] == "jeg betalte 14.03"


async def test_rows_stored_before_redaction_are_redacted_when_read(db_url: str) -> None:
    sender = f"sms-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, VERIFICATION_DOMAIN.slots)
    turn_asking_for_the_birth_date(tracker)
    turn_answering_it(tracker, "14.03.1985")
    await SQLTrackerStore(domain=VERIFICATION_DOMAIN, host=to_sync_url(db_url)).save(tracker)  # as before the fix

    store = RedactingSQLTrackerStore(domain=VERIFICATION_DOMAIN, host=db_url)
    for restored in (await store.retrieve(sender), await store.retrieve_full_tracker(sender)):
        serialised = json.dumps([event.as_dict() for event in restored.events], ensure_ascii=False)
        assert personal_data_in(serialised, "14.03.1985") == []
        assert [e.text for e in restored.events if isinstance(e, UserUttered)] == ["100001", BIRTH_DATE_PLACEHOLDER]


class CollectingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


async def test_events_streamed_to_an_event_broker_are_redacted_too(db_url: str) -> None:
    broker = CollectingBroker()
    store = RedactingSQLTrackerStore(domain=VERIFICATION_DOMAIN, host=db_url, event_broker=broker)
    sender = f"sms-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, VERIFICATION_DOMAIN.slots)
    turn_asking_for_the_birth_date(tracker)
    await store.save(tracker)
    turn_answering_it(tracker, "14.03.1985")
    await store.save(tracker)

    assert [e["text"] for e in broker.published if e["event"] == "user"] == ["100001", BIRTH_DATE_PLACEHOLDER]
    assert personal_data_in(json.dumps(broker.published, ensure_ascii=False), "14.03.1985") == []


def query_plan(engine: sa.engine.Engine, statement: str, parameters) -> str:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        cursor.execute(explain + statement, parameters)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())
    finally:
        connection.close()


async def test_a_turn_finds_the_conversations_newest_events_by_one_index_probe(db_url: str) -> None:
    # Rasa's index on the conversation alone made PostgreSQL find a conversation's newest event by
    # walking the primary key backwards through every other conversation's later events.
    domain = Domain.from_dict({})
    store = RedactingSQLTrackerStore(domain=domain, host=db_url)
    sender = f"test-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, domain.slots)
    for number in range(3):
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"hei {number}", intent={"name": "greet", "confidence": 0.9}))
        await store.save(tracker)
        tracker = await store.retrieve(sender)
    statements = []

    def remember(_connection, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", remember)
    try:
        tracker.update(ActionExecuted("utter_greet"))
        await store.save(tracker)
        await store.retrieve(sender)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", remember)
    reads = [(statement, parameters) for statement, parameters in statements if statement.lstrip().startswith("SELECT")]
    assert len(reads) == 2  # the newest event before the save; the events from it on when read
    for statement, parameters in reads:
        plan = query_plan(store.engine, statement, parameters)
        if store.engine.dialect.name == "sqlite":  # there every index holds the row id: Rasa's suffices
            assert plan.startswith("SEARCH events USING") and "INDEX ix_events_sender_id" in plan, plan
        else:
            assert "ix_events_sender_id_id" in plan, (statement, plan)


async def test_an_events_table_made_before_the_conversation_index_gets_it(db_url: str, tmp_path) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the shared PostgreSQL database keeps its index; the SQLite file is this test's own")
    RedactingSQLTrackerStore(domain=Domain.from_dict({}), host=db_url)
    engine = sa.create_engine(to_sync_url(db_url))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_events_sender_id_id"))
    RedactingSQLTrackerStore(domain=Domain.from_dict({}), host=db_url)
    assert "ix_events_sender_id_id" in {index["name"] for index in sa.inspect(engine).get_indexes("events")}
    engine.dispose()
