"""One debtor, three real processes: REST channel -> Rasa -> action server -> case system."""

from __future__ import annotations

import secrets

import aiohttp
import pytest

from actions.formatting import day, money
from bot.config import Settings

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]


async def say(http: aiohttp.ClientSession, settings: Settings, sender: str, text: str) -> list[str]:
    url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
    async with http.post(url, json={"sender": sender, "message": text}) as response:
        assert response.status == 200
        return [reply.get("text", "") for reply in await response.json()]


async def case_from_api(http: aiohttp.ClientSession, settings: Settings, case_number: str) -> dict:
    headers = {"Authorization": f"Bearer {settings.case_api_key}"}
    async with http.get(f"{settings.case_api_url}/cases/{case_number}", headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def test_kari_is_verified_and_told_the_balance_the_case_system_holds(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        first = await say(http, stack_settings, sender, "hei")
        assert "digital assistent" in first[0]
        await say(http, stack_settings, sender, "hva skylder jeg?")
        await say(http, stack_settings, sender, "100001")
        replies = await say(http, stack_settings, sender, "14.03.1985")
        case = await case_from_api(http, stack_settings, "100001")

    text = "\n".join(replies)
    assert f"Du skylder nå {money(case['balance'], 'nb')}" in text
    assert case["creditor"]["name"] in text
    assert f"Å betale: {money(case['balance'], 'nb')}" in text


async def test_a_wrong_birth_date_reveals_nothing(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await say(http, stack_settings, sender, "hva skylder jeg?")
        await say(http, stack_settings, sender, "100001")
        replies = await say(http, stack_settings, sender, "15.03.1985")
        case = await case_from_api(http, stack_settings, "100001")

    text = "\n".join(replies)
    assert "Jeg klarte ikke å bekrefte opplysningene" in text
    for secret in (case["creditor"]["name"], money(case["balance"], "nb"), "Kari", "Nordlys"):
        assert secret not in text


async def test_the_identity_number_can_replace_the_birth_date(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await say(http, stack_settings, sender, "hva skylder jeg?")
        await say(http, stack_settings, sender, "100001")
        replies = await say(http, stack_settings, sender, "14838540024")
        case = await case_from_api(http, stack_settings, "100001")
    assert f"Du skylder nå {money(case['balance'], 'nb')}" in "\n".join(replies)


@pytest.mark.parametrize(
    "question, case_number, born, language",
    [("hvordan betaler jeg?", "100001", "14.03.1985", "nb"), ("how do I pay?", "100004", "27.06.1978", "en")],
)
async def test_how_to_pay_is_answered_with_the_date_and_amount_the_case_system_holds(
    running_stack, stack_settings, question, case_number, born, language
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await say(http, stack_settings, sender, question)
        await say(http, stack_settings, sender, case_number)
        replies = await say(http, stack_settings, sender, born)
        case = await case_from_api(http, stack_settings, case_number)

    text = "\n".join(replies).replace("\u00a0", " ")
    pay_by = case["pay_by"]
    # The letter's deadline, or a postponement's date when another test in the shared stack made one.
    assert pay_by["basis"] in ("notice", "postponement") and pay_by["date"] is not None
    assert day(pay_by["date"], language) in text
    assert money(pay_by["amount"], language).replace("\u00a0", " ") in text
    assert case["kid"] in text
