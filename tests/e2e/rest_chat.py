"""Talking to the running stack over the REST channel, and reading the case-system API after it."""

from __future__ import annotations

import aiohttp

from actions.formatting import money
from bot.config import Settings


async def replies(http: aiohttp.ClientSession, settings: Settings, sender: str, text: str) -> list[dict]:
    """The assistant's replies to `text` as the REST channel sends them (text, buttons)."""
    url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
    async with http.post(url, json={"sender": sender, "message": text}) as response:
        assert response.status == 200
        return await response.json()


def text_of(answer: list[dict]) -> str:
    """Replies joined by newlines, with non-breaking spaces made plain."""
    return "\n".join(reply.get("text", "") for reply in answer).replace("\u00a0", " ")


def buttons_of(answer: list[dict]) -> list[dict]:
    return [button for reply in answer for button in reply.get("buttons", [])]


async def say(http: aiohttp.ClientSession, settings: Settings, sender: str, text: str) -> str:
    """The assistant's replies to `text` as one text (see `text_of`)."""
    return text_of(await replies(http, settings, sender, text))


async def api(http: aiohttp.ClientSession, settings: Settings, path: str) -> dict:
    headers = {"Authorization": f"Bearer {settings.case_api_key}"}
    async with http.get(f"{settings.case_api_url}{path}", headers=headers) as response:
        assert response.status == 200
        return await response.json()


def nb(amount: str) -> str:
    """An API money string as the assistant says it in Norwegian (plain spaces, as `say` returns)."""
    return money(amount, "nb").replace("\u00a0", " ")


def en(amount: str) -> str:
    """The same in English."""
    return money(amount, "en").replace("\u00a0", " ")


async def verified_replies(http, settings, sender: str, opening: str, case_number: str, born: str) -> list[dict]:
    """Ask `opening`, then answer the verification form; the replies to the last answer."""
    await say(http, settings, sender, opening)
    await say(http, settings, sender, case_number)
    return await replies(http, settings, sender, born)


async def verified(http, settings, sender: str, opening: str, case_number: str, born: str) -> str:
    """The same as one text."""
    return text_of(await verified_replies(http, settings, sender, opening, case_number, born))


async def handoffs_of(http, settings, sender: str) -> list[dict]:
    return [h for h in (await api(http, settings, "/handoffs"))["handoffs"] if h["conversation_id"] == sender]
