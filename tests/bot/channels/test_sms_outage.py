"""An inbound SMS is kept before anything else and is never lost to a case system that is down,
hung or refusing (issue 16): the webhook answers within seconds (`utter_sms_kept_for_later`,
nothing for a STOP), and once the case system is back every kept message is recorded (a STOP
takes effect) and answered, in order and once, also when two replicas drain the same spool. A
message of more than 1,600 characters is answered too.

Against the real case-system app on a loopback port that the tests stop, start again or make
hang, with the spool on SQLite and PostgreSQL (tests/bot/channels/sms_fixtures.py). A stand-in for
Rasa's message handling logs each turn in the tracker store as Rasa does and answers "Svar N".
Time is a clock the tests move; the drainer's passes are called one by one.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from rasa.shared.core.events import UserUttered

from actions.case_system_client import Caller, CaseSystemClient
from bot.channels.conversation_ids import sms_conversation_id
from bot.channels.twilio_sms import TwilioSmsInput
from bot.config import load_settings
from tests.bot.channels.sms_fixtures import (  # noqa: F401  (fixtures)
    API_KEY,
    CONVERSATION_ID_KEY,
    KARI,
    OLA,
    agent,
    case_system,
    channel,
    clock,
    dialogue,
    fields,
    make_channel,
    said,
    spool_stages,
    spool_url,
)
from tests.e2e.conftest import free_port

KEPT_FOR_LATER = "meldingen din er tatt vare på"  # utter_sms_kept_for_later (nb)
CALLER = Caller(conversation_id="test", channel="sms", purpose="test")


async def test_a_message_while_the_case_system_is_down_is_kept_and_answered_once_it_is_back(
    channel, case_system, agent, dialogue, clock, spool_url, caplog
):
    caplog.set_level(logging.INFO)  # production's level; the channel's own lines at every level
    caplog.set_level(logging.DEBUG, logger="bot.channels")
    await case_system.stop()

    answer = await channel._receive(agent, fields("hva skylder jeg"), dialogue)
    assert KEPT_FOR_LATER in said(answer)
    await channel.inbox.settle()
    assert dialogue.texts == [] and spool_stages(spool_url) == ["received"]

    clock.advance(1)
    assert await channel.inbox.drain() == 0  # still down: kept for a later try
    await case_system.start()
    clock.advance(2)
    assert await channel.inbox.drain() == 1

    assert case_system.recorded() == [fields("")["MessageSid"]]
    assert dialogue.texts == ["hva skylder jeg"]
    assert case_system.outbox(KARI) == ["Svar 1"]
    assert spool_stages(spool_url) == ["done"]
    clock.advance(60)
    assert await channel.inbox.drain() == 0  # answered once
    assert case_system.outbox(KARI) == ["Svar 1"] and dialogue.texts == ["hva skylder jeg"]
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert KARI not in logged and "skylder" not in logged


async def test_a_stop_while_the_case_system_is_down_takes_effect_once_it_is_back(
    channel, case_system, agent, dialogue, clock
):
    await case_system.stop()
    answer = await channel._receive(agent, fields("STOPP", phone=OLA), dialogue)
    assert said(answer) is None  # Twilio confirms a STOP itself
    await channel.inbox.settle()

    await case_system.start()
    clock.advance(2)
    await channel.inbox.drain()

    assert case_system.opted_out() == [OLA]
    queued = await channel.case_system.enqueue_sms(to_phone=OLA, body="Påminnelse", purpose="reminder", caller=CALLER)
    assert queued["status"] == "suppressed"  # never sent
    assert dialogue.texts == []


async def test_a_hung_case_system_gets_a_stop_answered_within_seconds_and_recorded_once_it_answers(
    make_channel, case_system, agent, dialogue, clock
):
    channel = make_channel(clock=True, webhook_wait_seconds=0.5)  # the client's own timeout is 2 s
    await case_system.hang()
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await channel._receive(agent, fields("STOP", phone=OLA), dialogue)
    assert loop.time() - started < 1.5
    assert said(answer) is None
    await channel.inbox.settle()  # the try times out; the STOP stays kept

    await case_system.start()
    clock.advance(2)
    await channel.inbox.drain()
    assert case_system.opted_out() == [OLA]


async def test_messages_kept_during_an_outage_are_answered_in_order_each_once_by_two_replicas(
    make_channel, case_system, agent, dialogue, clock, spool_url
):
    replicas = [make_channel(clock=True), make_channel(clock=True)]
    await case_system.stop()
    texts = ["hei", "hva skylder jeg", "100001"]
    for sid, text in enumerate(texts, start=1):
        assert KEPT_FOR_LATER in said(await replicas[sid % 2]._receive(agent, fields(text, sid=sid), dialogue))
    assert KEPT_FOR_LATER in said(await replicas[0]._receive(agent, fields("hei", sid=9, phone=OLA), dialogue))
    for replica in replicas:
        await replica.inbox.settle()

    await case_system.start()
    clock.advance(30)
    await asyncio.gather(*(replica.inbox.drain() for replica in replicas))
    await asyncio.gather(*(replica.inbox.drain() for replica in replicas))

    assert sorted(dialogue.texts) == sorted([*texts, "hei"])  # every message once, Ola's too
    kari = await agent.tracker_store.retrieve(sms_conversation_id(CONVERSATION_ID_KEY, KARI))
    assert [event.text for event in kari.events if isinstance(event, UserUttered)] == texts  # in order
    replies = [int(body.removeprefix("Svar ")) for body in case_system.outbox(KARI)]
    assert len(replies) == 3 and replies == sorted(replies)  # queued in the order asked
    assert len(case_system.outbox(OLA)) == 1
    assert len(case_system.recorded()) == 4
    assert spool_stages(spool_url) == ["done"] * 4


async def test_a_reply_the_outbox_cannot_take_is_kept_and_queued_when_it_can(
    channel, case_system, agent, dialogue, clock, spool_url
):
    dialogue.after_turn = case_system.stop  # the backoffice goes down during the turn
    said(await channel._receive(agent, fields("hei"), dialogue))
    await channel.inbox.settle()
    assert case_system.recorded() == [fields("")["MessageSid"]]
    assert spool_stages(spool_url) == ["answered"]

    dialogue.after_turn = None
    await case_system.start()
    clock.advance(2)
    await channel.inbox.drain()
    assert case_system.outbox(KARI) == ["Svar 1"] and dialogue.texts == ["hei"]


async def test_a_turn_that_ran_before_the_worker_stopped_is_read_back_not_run_again(
    channel, case_system, agent, dialogue, clock
):
    async def crash() -> None:
        raise RuntimeError("the worker stopped")

    dialogue.after_turn = crash  # after Rasa saved the turn, before the replies were kept
    await channel._receive(agent, fields("hei"), dialogue)
    await channel.inbox.settle()
    assert case_system.outbox(KARI) == []

    dialogue.after_turn = None
    clock.advance(2)
    await channel.inbox.drain()
    assert case_system.outbox(KARI) == ["Svar 1"] and dialogue.texts == ["hei"]


async def test_an_sms_of_more_than_1600_characters_is_answered(make_channel, case_system, agent, dialogue):
    channel = make_channel()
    long_text = ("Jeg lurer på hvorfor jeg har fått dette kravet. " * 40)[:1700]
    assert said(await channel._receive(agent, fields(long_text), dialogue)) is None
    assert case_system.recorded() == [fields("")["MessageSid"]]  # before the webhook answered

    await channel.inbox.settle()
    assert dialogue.texts == [long_text]
    assert case_system.outbox(KARI) == ["Svar 1"]


async def test_an_sms_over_the_length_limit_gets_the_too_long_answer_and_never_reaches_the_dialogue(
    make_channel, case_system, agent, dialogue
):
    channel = make_channel()
    assert said(await channel._receive(agent, fields("x" * 2500), dialogue)) is None
    assert case_system.recorded() == [fields("")["MessageSid"]]

    await channel.inbox.settle()
    assert dialogue.texts == []
    [reply] = case_system.outbox(KARI)
    assert "Meldingen din er for lang for meg (over 2000 tegn)" in reply


async def test_twilios_retry_is_answered_once_whether_or_not_the_first_is_finished(
    channel, case_system, agent, dialogue, clock
):
    await case_system.stop()
    await channel._receive(agent, fields("hei"), dialogue)
    assert said(await channel._receive(agent, fields("hei"), dialogue)) is None  # still kept: a retry
    await case_system.start()
    clock.advance(2)
    await channel.inbox.drain()
    assert said(await channel._receive(agent, fields("hei"), dialogue)) is None  # finished: a retry
    await channel.inbox.settle()

    assert dialogue.texts == ["hei"] and case_system.outbox(KARI) == ["Svar 1"]


async def test_without_its_spool_a_stop_is_still_recorded_and_other_messages_are_asked_again(
    case_system, agent, dialogue, tmp_path
):
    settings = load_settings(
        env={
            "CONVERSATION_ID_KEY": CONVERSATION_ID_KEY,
            "TRACKER_STORE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/x",
        },
        env_file=Path("/nonexistent"),
    )
    client = CaseSystemClient(case_system.url, API_KEY, timeout_seconds=2)
    channel = TwilioSmsInput(settings, client)
    try:
        assert said(await channel._receive(agent, fields("STOPP", sid=1, phone=OLA), dialogue)) is None
        answer = said(await channel._receive(agent, fields("hei", sid=2), dialogue))
    finally:
        await channel.spool.close()
        await client.close()

    assert case_system.opted_out() == [OLA]
    assert "Prøv igjen om litt, eller ring oss på 33 74 45 00" in answer
    assert dialogue.texts == []
