"""The SMS inbox's policy: how long a kept message waits between tries, and what becomes of a
message whose dialogue turn keeps failing (not the case system's: that is waited for, however
long): it is given up after MAX_TURN_FAILURES tries and the debtor is asked to try again or call.
"""

from __future__ import annotations

from datetime import timedelta

from rasa.core.channels.channel import UserMessage

from bot.channels.sms_inbox import MAX_TURN_FAILURES, RETRY_DELAYS_SECONDS, retry_delay
from tests.bot.channels.sms_fixtures import (  # noqa: F401  (fixtures)
    KARI,
    agent,
    case_system,
    channel,
    clock,
    dialogue,
    fields,
    make_channel,
    spool_stages,
    spool_url,
)


def test_tries_wait_longer_each_time_up_to_half_a_minute_and_then_go_on_every_half_minute():
    waits = [retry_delay(failures).total_seconds() for failures in range(1, 10)]
    assert waits == [1, 2, 4, 8, 15, 30, 30, 30, 30]
    assert retry_delay(len(RETRY_DELAYS_SECONDS) + 100) == timedelta(seconds=30)


async def test_a_turn_that_keeps_failing_is_given_up_and_the_debtor_asked_to_try_again(
    channel, case_system, agent, dialogue, clock, spool_url
):
    async def broken(message: UserMessage) -> None:
        dialogue.texts.append(message.text)
        raise RuntimeError("a bug")

    await channel._receive(agent, fields("hei"), broken)
    await channel.inbox.settle()
    for _ in range(MAX_TURN_FAILURES):
        clock.advance(60)
        await channel.inbox.drain()

    assert len(dialogue.texts) == MAX_TURN_FAILURES - 1
    [reply] = case_system.outbox(KARI)
    assert "Prøv igjen om litt, eller ring oss på 33 74 45 00" in reply
    assert spool_stages(spool_url) == ["done"]
