"""A debtor can answer the agency's own SMS: a reply to a payment receipt arrives through the
Twilio SMS webhook in the same conversation the debtor already had with the assistant (its id is
the keyed hash of their number), and the assistant's answer goes back to that number.
(Fixtures: tests/bot/channels/sms_fixtures.py; the spool on SQLite and PostgreSQL.)"""

from __future__ import annotations

import aiohttp
from rasa.shared.core.events import UserUttered

from bot.channels.conversation_ids import sms_conversation_id
from tests.bot.channels.sms_fixtures import (  # noqa: F401  (fixtures)
    API_KEY,
    CONVERSATION_ID_KEY,
    KARI,
    agent,
    case_system,
    channel,
    clock,
    dialogue,
    fields,
    make_channel,
    spool_url,
)


async def test_a_reply_to_a_receipt_continues_the_debtors_sms_conversation(
    channel, case_system, agent, dialogue, clock
):
    await channel._receive(agent, fields("hei", sid=1), dialogue)  # the debtor's conversation, before
    await channel.inbox.settle()
    clock.advance(1)
    await channel.inbox.drain()

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        response = await http.post(
            f"{case_system.url}/cases/100001/payments", json={"paid_on": "2026-11-25", "amount": "250.00"}
        )
        assert response.status == 201 and (await response.json())["receipt"] == "queued"
    receipt = case_system.outbox(KARI)[-1]
    assert receipt.startswith("Alektum har registrert en betaling på") and "sak 100001" in receipt

    await channel._receive(agent, fields("Takk, hva gjenstår nå?", sid=2), dialogue)  # the reply
    await channel.inbox.settle()
    clock.advance(1)
    await channel.inbox.drain()

    kari = await agent.tracker_store.retrieve(sms_conversation_id(CONVERSATION_ID_KEY, KARI))
    assert [event.text for event in kari.events if isinstance(event, UserUttered)] == ["hei", "Takk, hva gjenstår nå?"]
    assert case_system.outbox(KARI) == ["Svar 1", receipt, "Svar 2"]  # the answer goes back to the same number
