"""Rights requests and privacy questions through the three real processes (REST channel)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

import aiohttp
import pytest

from bot.case_system.domain.rights_requests import due_date
from bot.config import Settings

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]

REFERENCE = re.compile(r"PV-[0-9A-Z]{6}")


async def say(http: aiohttp.ClientSession, settings: Settings, sender: str, text: str) -> str:
    url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
    async with http.post(url, json={"sender": sender, "message": text}) as response:
        assert response.status == 200
        return "\n".join(reply.get("text", "") for reply in await response.json())


async def api(http: aiohttp.ClientSession, settings: Settings, path: str):
    headers = {"Authorization": f"Bearer {settings.case_api_key}", "X-Actor": "caseworker:test", "X-Purpose": "review"}
    async with http.get(f"{settings.case_api_url}{path}", headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def test_an_unverified_erasure_request_is_logged_and_nothing_is_disclosed(running_stack, stack_settings):
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await say(http, stack_settings, sender, "hei")
        reply = await say(http, stack_settings, sender, "slett dataene mine")
        reference = REFERENCE.search(reply).group(0)
        stored = await api(http, stack_settings, f"/rights-requests/{reference}")

    assert "10 år" in reply and "5 år" in reply and "senest 3 år" in reply  # what must be kept, and why
    assert "Vi har ikke bekreftet hvem du er" in reply
    for secret in ("Kari", "Nordlys", "100001"):
        assert secret not in reply
    assert (stored["type"], stored["channel"], stored["verified"], stored["case_number"]) == (
        "erasure",
        "rest",
        False,
        None,
    )
    assert stored["conversation_id"] == sender and stored["request_text"] == "slett dataene mine"
    received = datetime.fromisoformat(stored["received_at"])
    assert stored["due_date"] == due_date(received).isoformat()
    assert received <= datetime.now(timezone.utc)


async def test_a_verified_access_request_gets_an_export_for_the_caseworker(running_stack, stack_settings):
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await say(http, stack_settings, sender, "hva skylder jeg?")
        verified = await say(http, stack_settings, sender, "saksnummer 100001, fødselsdato 14.03.1985")
        reply = await say(http, stack_settings, sender, "jeg vil ha innsyn")
        reference = REFERENCE.search(reply).group(0)
        stored = await api(http, stack_settings, f"/rights-requests/{reference}")
        export = await api(http, stack_settings, f"/rights-requests/{reference}/export")
        listed = await api(http, stack_settings, "/rights-requests?case_number=100001")
        # Produced again before sending, the export also holds the turn that asked for it.
        headers = {"Authorization": f"Bearer {stack_settings.case_api_key}", "X-Actor": "caseworker:test"}
        async with http.post(
            f"{stack_settings.case_api_url}/rights-requests/{reference}/export", headers=headers
        ) as response:
            assert response.status == 201
        again = await api(http, stack_settings, f"/rights-requests/{reference}/export")

    assert "bekreftet hvem du er" in verified
    assert "kravet ditt om innsyn" in reply and "ikke bekreftet" not in reply
    assert stored["verified"] is True and stored["verification_method"] == "birth_date"
    assert stored["case_number"] == "100001" and stored["has_export"] is True and stored["status"] == "in_progress"
    assert reference in [item["id"] for item in listed["rights_requests"]]
    assert export["debtor"]["first_name"] == "Kari"
    conversation = next(item for item in export["conversations"] if item["conversation_id"] == sender)
    assert "hva skylder jeg?" in [message["text"] for message in conversation["messages"]]
    conversation = next(item for item in again["conversations"] if item["conversation_id"] == sender)
    assert "jeg vil ha innsyn" in [message["text"] for message in conversation["messages"]]


async def test_privacy_questions_are_answered_from_the_notice_with_its_address(running_stack, stack_settings):
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        sources = await say(http, stack_settings, sender, "hvor har dere fått adressen min fra")
        dpo = await say(http, stack_settings, sender, "hvordan kontakter jeg personvernombudet")
    assert "Evry" in sources and "Experian" in sources
    assert "Postboks 2370, 3103 TØNSBERG" in dpo
    assert stack_settings.privacy_notice_url in sources and stack_settings.privacy_notice_url in dpo
