"""Handoffs that can be followed up: a short random reference beside the numeric id, and the
contact an unverified debtor gave, checked and stored with the handoff (migration 0010)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.database import downgrade_database, upgrade_database
from bot.case_system.store.models import Handoff
from bot.contact_details import parse_contact
from bot.short_references import ALPHABET

HANDOFFS = "/api/v1/handoffs"
REFERENCE = re.compile(rf"H-[{ALPHABET}]{{6}}")
BODY = {"conversation_id": "web:ref1", "channel": "web", "reason": "requested", "summary": "", "transcript": []}


async def test_each_handoff_gets_its_own_short_reference_and_keeps_its_numeric_id(client, auth):
    created = [
        await (await client.post(HANDOFFS, json={**BODY, "conversation_id": f"web:ref{n}"}, headers=auth)).json()
        for n in range(20)
    ]
    references = [handoff["reference"] for handoff in created]
    assert all(REFERENCE.fullmatch(reference) for reference in references)
    assert len(set(references)) == 20
    assert all(isinstance(handoff["id"], int) for handoff in created)
    listed = (await (await client.get(HANDOFFS, headers=auth)).json())["handoffs"]
    assert {h["id"]: h["reference"] for h in listed} == {h["id"]: h["reference"] for h in created}


@pytest.mark.parametrize(
    "contact, stored",
    [
        ({"contact_phone": "912 34 567"}, ("+4791234567", None)),
        ({"contact_phone": "+46 70 123 45 67"}, ("+46701234567", None)),
        ({"contact_email": "Kari.Nordmann@Example.NO"}, (None, "Kari.Nordmann@example.no")),
    ],
)
async def test_a_contact_is_checked_normalised_and_stored_with_the_handoff(client, auth, contact, stored):
    response = await client.post(HANDOFFS, json={**BODY, **contact}, headers=auth)
    assert response.status == 201
    handoff_id = (await response.json())["id"]
    async with client.app[CASE_SYSTEM].sessions() as session:
        handoff = await session.get(Handoff, handoff_id)
        assert (handoff.contact_phone, handoff.contact_email) == stored


@pytest.mark.parametrize(
    "contact",
    [
        {"contact_phone": "12345"},
        {"contact_phone": "ring meg"},
        {"contact_email": "kari@"},
        {"contact_email": "a b@c.no"},
    ],
)
async def test_a_contact_that_is_not_one_is_refused(client, auth, contact):
    response = await client.post(HANDOFFS, json={**BODY, **contact}, headers=auth)
    assert response.status in (400, 422)
    assert (await response.json())["error"]["field"] == next(iter(contact))


async def test_a_contact_given_after_the_handoff_was_made_is_added_to_it(client, auth):
    first = await (await client.post(HANDOFFS, json=BODY, headers=auth)).json()
    again = await client.post(HANDOFFS, json={**BODY, "contact_email": "kari@example.no"}, headers=auth)
    assert (await again.json())["id"] == first["id"]
    async with client.app[CASE_SYSTEM].sessions() as session:
        assert (await session.get(Handoff, first["id"])).contact_email == "kari@example.no"


@pytest.mark.parametrize(
    "text, found",
    [
        ("ring meg på 912 34 567", ("phone", "+4791234567")),
        ("00 47 91234567", ("phone", "+4791234567")),
        ("e-post: kari@example.no.", ("email", "kari@example.no")),
        ("123", None),
        ("kari@example", None),
        ("nei takk", None),
    ],
)
def test_a_contact_in_a_short_message(text, found):
    assert parse_contact(text) == (None if found is None else found)


@pytest.fixture
def empty_database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'migrated.db'}"


def test_the_migration_gives_existing_handoffs_references(empty_database_url):
    upgrade_database(empty_database_url, "0009_rights_extensions_and_contact_window")
    engine = sa.create_engine(empty_database_url, future=True)
    try:
        with engine.begin() as connection:
            for n in range(3):
                connection.execute(
                    sa.text(
                        "INSERT INTO handoffs (conversation_id, channel, reason, priority, status, summary, "
                        "transcript, created_at, updated_at) VALUES (:c, 'web', 'requested', 'normal', 'resolved', "
                        "'', '[]', '2026-11-25 10:00:00', '2026-11-25 10:00:00')"
                    ),
                    {"c": f"web:old{n}"},
                )
        upgrade_database(empty_database_url, "0010_handoff_references_and_contact")
        with engine.connect() as connection:
            references = [row[0] for row in connection.execute(sa.text("SELECT reference FROM handoffs"))]
        assert len(references) == 3 == len(set(references))
        assert all(REFERENCE.fullmatch(reference) for reference in references)
        downgrade_database(empty_database_url, "0009_rights_extensions_and_contact_window")
        with engine.connect() as connection:
            columns = [column["name"] for column in sa.inspect(connection).get_columns("handoffs")]
        assert "reference" not in columns and "contact_phone" not in columns
    finally:
        engine.dispose()
