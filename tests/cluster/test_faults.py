"""Faults injected into the cluster under load (run with `pytest tests/cluster -m faults`).

For each: debtors get a polite answer or their client's retry works, never a stack trace; every
acknowledged message is in its tracker once and in order; everything recovers without a restart
once the dependency is back (the supervisor restarts a process that died, as Kubernetes would).
Killing a dialogue-server replica is tests/cluster/test_cluster_load.py (part of `make test`)."""

from __future__ import annotations

import asyncio
import secrets
import signal

import aiohttp
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot.channels.conversation_ids import sms_conversation_id
from bot.config import to_sync_url
from bot.loadtest.run import LoadResult, apology_beginnings, load
from bot.loadtest.verify import user_texts
from tests.cluster.conftest import rest_turn, wait_ready

pytestmark = [pytest.mark.cluster, pytest.mark.stack, pytest.mark.faults, pytest.mark.asyncio(scope="session")]

USERS = 6
SECONDS = 30
FAULT_AFTER_SECONDS = 8
OUTAGE_SECONDS = 8
RECOVERY_SECONDS = 90


async def assert_nothing_lost(result: LoadResult, cluster) -> None:
    verdict = result.verdict
    assert verdict.acknowledged > 10, result.rows
    if verdict.missing or verdict.duplicated or verdict.reordered:
        # In a thread: the database's proxy runs on this event loop.
        pytest.fail(verdict.describe() + await asyncio.to_thread(spool_state, cluster, verdict.missing))
    assert result.stack_traces == 0, result.errors


def spool_state(cluster, conversations: list[str]) -> str:
    """The channels of `conversations`, and what the SMS spool holds of them: where a missing
    message went."""
    engine = sa.create_engine(to_sync_url(cluster.settings.tracker_store_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT count(*), count(*) FILTER (WHERE finished_at IS NULL), max(failures), "
                    "string_agg(DISTINCT last_error, ',') FROM sms_spool WHERE conversation_id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": sorted(set(conversations)) or [""]},
            ).all()
        found = user_texts(engine, sorted(set(conversations)))
    finally:
        engine.dispose()
    channels = sorted({conversation.split("-", 1)[0] for conversation in conversations})
    tails = [texts[-8:] for texts in found.values()]
    return (
        f"; missing in {channels}; their conversations' SMS spool rows (all, unfinished, most failures, errors):"
        f" {[tuple(row) for row in rows]}; the last user texts in their trackers: {tails}"
    )


async def assert_recovered(cluster) -> None:
    """Every process ready again, and a turn through nginx answered without the apology."""
    for service in cluster.stack.services:
        url = service.health_url.replace("/health/live", "/health/ready")
        assert await wait_ready(url, RECOVERY_SECONDS), f"{service.name} is not ready again"
    apologies = tuple(apology_beginnings("utter_assistant_unavailable"))
    sender = "recovered-" + secrets.token_hex(4)
    for attempt in range(RECOVERY_SECONDS):
        status, replies = await rest_turn(cluster, sender, f"hei {attempt}")
        if status == 200 and replies and not any((r.get("text") or "").startswith(apologies) for r in replies):
            return
        await asyncio.sleep(1)
    pytest.fail("turns are still not answered normally")


def kill(cluster, prefix: str):
    async def fault() -> None:
        for service in cluster.stack.services:
            if service.name.startswith(prefix):
                service.process.send_signal(signal.SIGKILL)

    return fault


def outage(proxy):
    async def fault() -> None:
        await proxy.cut()
        await asyncio.sleep(OUTAGE_SECONDS)
        await proxy.restore()

    return fault


async def send_sms(cluster, phone: str, text: str) -> tuple[int, str]:
    url = f"{cluster.public_url}/webhooks/twilio_sms/webhook"
    params = {"MessageSid": "SM" + secrets.token_hex(16), "From": phone, "To": "+4700000000", "Body": text}
    signature = RequestValidator(cluster.settings.twilio_auth_token).compute_signature(url, params)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=params, headers={"X-Twilio-Signature": signature}) as reply:
            return reply.status, await reply.text()


async def test_a_replica_told_to_stop_finishes_its_turns_and_closes_its_sockets(cluster, tmp_path) -> None:
    replica = cluster.stack.service("dialogue-2")
    stopped = []

    async def stop_replica() -> None:
        process, started = replica.process, asyncio.get_running_loop().time()
        process.send_signal(signal.SIGTERM)
        stopped.append((await process.wait(), asyncio.get_running_loop().time() - started))

    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="stop-dialogue",
        fault=stop_replica,
        fault_after_seconds=FAULT_AFTER_SECONDS,
        results_dir=tmp_path,
    )
    [(status, seconds)] = stopped
    assert status == 0 and seconds < 10  # exited by itself, before the runner's kill
    await assert_nothing_lost(result, cluster)
    # No turn under way was cut off: nginx answered no request with an error (502).
    assert not [error for error in result.errors if "502" in error], result.errors
    await assert_recovered(cluster)


async def test_killing_every_action_server(cluster, tmp_path) -> None:
    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="kill-actions",
        fault=kill(cluster, "actions-"),
        fault_after_seconds=FAULT_AFTER_SECONDS,
        results_dir=tmp_path,
    )
    await assert_nothing_lost(result, cluster)
    await assert_recovered(cluster)


async def test_killing_the_backoffice_keeps_the_sms_received_meanwhile(cluster, tmp_path) -> None:
    phone = f"+474{secrets.randbelow(10**7):07d}"
    answers = []

    async def kill_and_text() -> None:
        await kill(cluster, "backoffice")()
        answers.append(await send_sms(cluster, phone, "hei fra sms"))

    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="kill-backoffice",
        fault=kill_and_text,
        fault_after_seconds=FAULT_AFTER_SECONDS,
        results_dir=tmp_path,
    )
    await assert_nothing_lost(result, cluster)
    [(status, twiml)] = answers
    assert status == 200 and twiml.startswith("<?xml") and "Traceback" not in twiml
    await assert_recovered(cluster)
    # Answered as today (empty TwiML, or "kept for later"), and in the tracker once when back.
    conversation = sms_conversation_id(cluster.settings.conversation_id_key, phone)
    engine = sa.create_engine(to_sync_url(cluster.settings.tracker_store_url))
    try:
        for _ in range(RECOVERY_SECONDS):
            texts = (await asyncio.to_thread(user_texts, engine, [conversation])).get(conversation, [])
            if texts:
                break
            await asyncio.sleep(1)
    finally:
        engine.dispose()
    assert texts == ["hei fra sms"]


async def test_cutting_redis(cluster, proxied_stores, tmp_path) -> None:
    _, _, _, redis_proxy = proxied_stores
    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="cut-redis",
        fault=outage(redis_proxy),
        fault_after_seconds=FAULT_AFTER_SECONDS,
        results_dir=tmp_path,
    )
    await assert_nothing_lost(result, cluster)
    await assert_recovered(cluster)


async def test_cutting_postgresql_connections(cluster, proxied_stores, tmp_path) -> None:
    _, _, postgres_proxy, _ = proxied_stores
    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="cut-postgres",
        fault=outage(postgres_proxy),
        fault_after_seconds=FAULT_AFTER_SECONDS,
        results_dir=tmp_path,
    )
    await assert_nothing_lost(result, cluster)
    await assert_recovered(cluster)
