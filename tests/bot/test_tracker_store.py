"""The tracker store never persists a national identity number, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

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
        rows = connection.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :sender"), {"sender": sender}
        ).scalars().all()
    assert len(rows) == 3
    stored = "\n".join(rows)
    assert NATIONAL_ID not in stored
    assert "148385 40024" not in stored
    assert "100001" in stored  # case numbers are not identity numbers

    restored = await store.retrieve(sender)
    assert restored.get_slot("national_id") != NATIONAL_ID
