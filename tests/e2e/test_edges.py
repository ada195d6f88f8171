"""The stack at its edges: a message of a million characters, a client that leaves mid-turn, a
caller without a sender, and an action server that stops answering. The debtor always gets a
clear answer within seconds, the stack keeps serving, and no log line carries what was said."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import time
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.rest_chat import say

pytestmark = pytest.mark.stack

SECRET_MESSAGE = "saksnummer 100001, fødselsnummer 14838540024, født 14.03.1985"
DEMO_IDENTITY_NUMBERS = ("14838540024", "02919230056", "27867820081", "09810155180", "30896410004")


def webhook(settings) -> str:
    return f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"


def logged(stack) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted(stack.log_dir.glob("*.log")))


async def test_a_message_of_a_million_characters_is_refused_and_the_stack_keeps_answering(
    running_stack, stack_settings
) -> None:
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(webhook(stack_settings), json={"sender": "huge-1", "message": "x" * 1_000_000}) as answer:
            assert answer.status == 413
        async with http.post(webhook(stack_settings), json={"sender": "huge-1", "message": "hei " * 600}) as answer:
            assert answer.status == 413
            body = await answer.json()
            assert body["error"] == "message_too_long" and "for lang" in body["messages"][0]["text"]
        assert time.monotonic() - started < 5
        assert "saksnummer" in (await say(http, stack_settings, "huge-1", "hva skylder jeg?")).lower()


async def test_a_caller_without_a_sender_is_refused(running_stack, stack_settings) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(webhook(stack_settings), json={"message": "hva skylder jeg?"}) as answer:
            assert answer.status == 400 and (await answer.json())["error"] == "invalid_sender"


async def test_a_client_that_leaves_mid_turn_leaves_no_message_text_in_any_log(running_stack, stack_settings) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            with pytest.raises(asyncio.TimeoutError):
                async with http.post(
                    webhook(stack_settings),
                    json={"sender": "leaves-mid-turn", "message": SECRET_MESSAGE},
                    timeout=aiohttp.ClientTimeout(total=0.01),
                ):
                    pass
        # The turns went on without their clients: the conversation is whole and answers again.
        assert await say(http, stack_settings, "leaves-mid-turn", "takk")
    await asyncio.sleep(0.5)  # the processes' last lines reach their log files
    text = logged(running_stack)
    assert "client went away" in text
    for secret in (*DEMO_IDENTITY_NUMBERS, "14.03.1985", "fødselsnummer", "+4791234567"):
        assert secret not in text, secret
    assert not re.search(r"\bsaksnummer 100001\b", text)


async def test_a_hung_action_server_gets_the_debtor_an_apology_within_seconds(running_stack, stack_settings) -> None:
    actions = running_stack.service("actions")
    pid = actions.process.pid
    os.kill(pid, signal.SIGSTOP)  # alive but silent, as a hung process is
    try:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            answer = await say(http, stack_settings, "while-actions-hang", "hei")
            waited = time.monotonic() - started
        assert answer.count("teknisk problem") == 1
        assert waited < stack_settings.action_timeout_seconds + 3
    finally:
        os.kill(pid, signal.SIGCONT)
    await running_stack.wait_healthy(timeout_seconds=120)
    # Once it answers again, so does the assistant: at once, not after a waiting period.
    async with aiohttp.ClientSession() as http:
        for attempt in range(40):
            answer = await say(http, stack_settings, f"after-the-hang-{attempt}", "hei")
            if "teknisk problem" not in answer:
                break
            await asyncio.sleep(0.5)
    assert "teknisk problem" not in answer and attempt < 10


def test_the_databases_are_private_and_the_logs_group_readable(running_stack, stack_settings) -> None:
    for url in (stack_settings.database_url, stack_settings.tracker_store_url):
        database = Path(url.removeprefix("sqlite:///"))
        assert stat.S_IMODE(database.stat().st_mode) == 0o600, database.name
    logs = sorted(running_stack.log_dir.glob("*.log"))
    assert [path.name for path in logs] == ["actions.log", "backoffice.log", "dialogue.log"]
    assert {stat.S_IMODE(path.stat().st_mode) for path in logs} == {0o640}
