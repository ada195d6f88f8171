"""A slow dialogue turn on the phone: the webhook answers "one moment" within its limit and Twilio
polls until the reply is ready, on this replica (the running turn) or another (the tracker)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import twilio_voice
from bot.channels.twilio_voice import TwilioVoiceInput
from bot.config import load_settings

CALL = "voice-CA" + "b" * 32


class FakeNlg:
    async def generate(self, response, tracker, channel, **values):
        return {"text": f"<{response}>"}


class FakeTrackerStore:
    def __init__(self, full=None):
        self.full = full

    async def retrieve(self, sender_id):
        return None

    async def retrieve_full_tracker(self, sender_id):
        return self.full


class FakeAgent:
    def __init__(self, full=None):
        self.domain = Domain.empty()
        self.nlg = FakeNlg()
        self.tracker_store = FakeTrackerStore(full)


def parse(response) -> ElementTree.Element:
    return ElementTree.fromstring(response.body.decode())


@pytest.fixture
def channel(monkeypatch):
    monkeypatch.setattr(twilio_voice, "POLL_WAIT_SECONDS", 0.01)
    settings = load_settings(env={"VOICE_REPLY_TIMEOUT_SECONDS": "0.01"}, env_file=Path("/nonexistent"))
    return TwilioVoiceInput(settings)


async def test_a_slow_turn_says_one_moment_and_is_answered_when_ready(channel):
    release = asyncio.Event()

    async def slow_dialogue(message):
        await release.wait()
        await message.output_channel.send_response(message.sender_id, {"text": "Du skylder 2 847,16 kr."})

    agent = FakeAgent()
    first = parse(await channel._turn(agent, CALL, "hva skylder jeg", slow_dialogue))
    assert first.find("Say").text == "<utter_voice_one_moment>"
    redirect = first.find("Redirect").text
    assert redirect.startswith("/webhooks/twilio_voice/pending?turn=") and redirect.endswith("&poll=1")
    turn_id = redirect.split("turn=")[1].split("&")[0]

    still = parse(await channel._poll(agent, CALL, turn_id, 1))
    assert still.find("Say") is None and still.find("Redirect").text.endswith("&poll=2")

    release.set()
    answer = parse(await channel._poll(agent, CALL, turn_id, 2))
    assert answer.find("Gather/Say").text == "Du skylder 2 847,16 kr."


async def test_another_replica_answers_the_poll_from_the_tracker(channel):
    tracker = DialogueStateTracker.from_events(
        CALL,
        [
            UserUttered("hva skylder jeg", message_id="turn1"),
            BotUttered("Du skylder 2 847,16 kr."),
            ActionExecuted("action_listen"),
        ],
    )
    answer = parse(await channel._poll(FakeAgent(full=tracker), CALL, "turn1", 3))
    assert answer.find("Gather/Say").text == "Du skylder 2 847,16 kr."


async def test_a_turn_that_never_finishes_ends_with_an_apology(channel):
    tracker = DialogueStateTracker.from_events(CALL, [UserUttered("hva skylder jeg", message_id="turn1")])
    answer = parse(await channel._poll(FakeAgent(full=tracker), CALL, "turn1", twilio_voice.MAX_POLLS))
    assert answer.find("Say").text == "<utter_voice_technical_problem>"
    assert answer.find("Hangup") is not None
