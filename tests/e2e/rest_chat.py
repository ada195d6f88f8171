"""Talking to the running stack over the REST channel, and reading the case-system API after it."""

from __future__ import annotations

from contextlib import asynccontextmanager

import aiohttp
import sqlalchemy as sa

from actions.formatting import money
from bot.case_system.store import database as db
from bot.case_system.store.models import Case, Dispute, Installment, PaymentPlan
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


@asynccontextmanager
async def undone_afterwards(settings: Settings, case_number: str):
    """Plans, disputes and their flags made on `case_number` in the block are removed afterwards,
    since the stack is shared by the tests."""
    engine = db.create_engine(settings)
    sessions = db.session_factory(engine)
    try:
        async with sessions() as session:
            case = (await session.execute(sa.select(Case).where(Case.case_number == case_number))).scalar_one()
            flags = {"disputed": case.disputed, "collection_stopped": case.collection_stopped}
            plans_before = set(
                (await session.execute(sa.select(PaymentPlan.id).where(PaymentPlan.case_id == case.id))).scalars()
            )
            disputes_before = set(
                (await session.execute(sa.select(Dispute.id).where(Dispute.case_id == case.id))).scalars()
            )
        try:
            yield
        finally:
            async with sessions() as session:
                plans = set(
                    (await session.execute(sa.select(PaymentPlan.id).where(PaymentPlan.case_id == case.id))).scalars()
                )
                new_plans = plans - plans_before
                await session.execute(sa.delete(Installment).where(Installment.plan_id.in_(new_plans)))
                await session.execute(sa.delete(PaymentPlan).where(PaymentPlan.id.in_(new_plans)))
                await session.execute(
                    sa.delete(Dispute).where(Dispute.case_id == case.id, Dispute.id.not_in(disputes_before))
                )
                await session.execute(sa.update(Case).where(Case.id == case.id).values(**flags))
                await session.commit()
    finally:
        await engine.dispose()
