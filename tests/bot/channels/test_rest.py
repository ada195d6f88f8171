"""The REST channel: a sender is required, a message over the limit gets a clear answer and never
reaches the dialogue, a token can be required or the channel switched off, and neither a client
that goes away mid-turn nor a failing turn puts the debtor's words into a log line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from sanic import Sanic

from bot.channels.limits import MAX_MESSAGE_CHARACTERS
from bot.channels.rest import NamespacedRestInput
from bot.config import load_settings
from bot.logs import JsonFormatter
from tests.bot.channels.agent_stand_in import Agent
from tests.sanic_server import serving

MESSAGE = "saksnummer 100001, fødselsnummer 14838540024"


class Dialogue:
    """Stands in for Rasa's message handling: answers, takes its time, or fails, as told."""

    def __init__(self) -> None:
        self.received: list = []
        self.finished: list = []
        self.behaviour = "answer"

    async def __call__(self, message) -> None:
        self.received.append(message)
        if self.behaviour == "slow":
            await asyncio.sleep(1.0)
        if self.behaviour == "fail":
            raise ValueError(f"could not handle {message.text}")
        await message.output_channel.send_text_message(message.sender_id, "svar")
        self.finished.append(message)


@pytest.fixture
async def rest(request):
    overrides = getattr(request, "param", {})
    settings = load_settings(env=overrides, env_file=Path("/nonexistent"))
    dialogue = Dialogue()
    Sanic.test_mode = True
    app = Sanic("rest_channel_test")
    app.config.TOUCHUP = False
    app.blueprint(NamespacedRestInput(settings).blueprint(dialogue), url_prefix="/webhooks/rest")
    app.ctx.agent = Agent()
    async with serving(app) as base_url, aiohttp.ClientSession() as http:
        yield f"{base_url}/webhooks/rest/webhook", http, dialogue


async def post(http, url, body, **kwargs):
    async with http.post(url, json=body, **kwargs) as answer:
        return answer.status, await answer.json()


async def test_a_message_is_answered_under_its_namespaced_sender(rest) -> None:
    url, http, dialogue = rest
    status, answer = await post(
        http,
        url,
        {"sender": "tester-1", "message": "hei", "metadata": {"language": "en", "sender_phone": "+4791234567"}},
    )
    assert status == 200 and answer == [{"recipient_id": "rest-tester-1", "text": "svar"}]
    (message,) = dialogue.received
    assert message.sender_id == "rest-tester-1" and message.input_channel == "rest"
    assert message.metadata == {"language": "en"}  # the open channel cannot pose as SMS


@pytest.mark.parametrize(
    "body", [{"message": "hei"}, {"sender": "", "message": "hei"}, {"sender": "bad sender!", "message": "hei"}]
)
async def test_a_sender_is_required(rest, body) -> None:
    url, http, dialogue = rest
    status, answer = await post(http, url, body)
    assert status == 400 and answer["error"] == "invalid_sender"
    assert dialogue.received == []


async def test_a_body_that_is_not_a_message_is_refused(rest) -> None:
    url, http, dialogue = rest
    for body in ([], {"sender": "a", "message": 5}, {"sender": "a"}):
        status, _ = await post(http, url, body)
        assert status == 400
    async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}) as answer:
        assert answer.status == 400
    assert dialogue.received == []


async def test_a_message_over_the_limit_gets_a_clear_answer_and_never_reaches_the_dialogue(rest, caplog) -> None:
    url, http, dialogue = rest
    caplog.set_level(logging.INFO)
    status, answer = await post(http, url, {"sender": "long", "message": MESSAGE + "x" * MAX_MESSAGE_CHARACTERS})
    assert status == 413 and answer["error"] == "message_too_long" and answer["max_characters"] == 2000
    assert "for lang" in answer["messages"][0]["text"] and "2000" in answer["messages"][0]["text"]
    assert dialogue.received == []
    status, _ = await post(http, url, {"sender": "long", "message": "x" * MAX_MESSAGE_CHARACTERS})
    assert status == 200  # exactly the limit is fine
    assert "14838540024" not in caplog.text


@pytest.mark.parametrize("rest", [{"REST_CHANNEL_TOKEN": "rest-token"}], indirect=True)
async def test_production_can_require_a_token(rest) -> None:
    url, http, dialogue = rest
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer røst"},
        {"Authorization": "rest-token"},
    ):
        status, answer = await post(http, url, {"sender": "a", "message": "hei"}, headers=headers)
        assert status == 401 and answer["error"] == "unauthorized"
    status, _ = await post(http, url, {"sender": "a", "message": "hei"}, headers={"Authorization": "Bearer rest-token"})
    assert status == 200 and len(dialogue.received) == 1


@pytest.mark.parametrize("rest", [{"REST_CHANNEL_ENABLED": "false"}], indirect=True)
async def test_production_can_switch_it_off(rest) -> None:
    url, http, dialogue = rest
    status, _ = await post(http, url, {"sender": "a", "message": "hei"})
    assert status == 404 and dialogue.received == []


async def test_a_client_that_goes_away_mid_turn_loses_nothing_and_leaks_nothing(rest, caplog) -> None:
    url, http, dialogue = rest
    dialogue.behaviour = "slow"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(asyncio.TimeoutError):
        await post(http, url, {"sender": "gone", "message": MESSAGE}, timeout=aiohttp.ClientTimeout(total=0.2))
    for _ in range(60):
        if dialogue.finished:
            break
        await asyncio.sleep(0.05)
    assert [message.text for message in dialogue.finished] == [MESSAGE]  # the turn ran to its end
    assert "client went away" in caplog.text
    assert "14838540024" not in caplog.text and "100001" not in caplog.text


async def test_a_failing_turn_gets_an_apology_and_leaks_nothing(rest, caplog) -> None:
    url, http, dialogue = rest
    dialogue.behaviour = "fail"
    caplog.set_level(logging.DEBUG)
    status, answer = await post(http, url, {"sender": "fails", "message": MESSAGE})
    assert status == 200 and "teknisk problem" in answer[-1]["text"]
    assert "rest turn failed" in caplog.text
    # The log records hold neither the message nor the exception's text, which quotes it.
    written = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "14838540024" not in written and "ValueError" in written
