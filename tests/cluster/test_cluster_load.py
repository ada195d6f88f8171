"""A short load through the cluster's nginx while one dialogue-server replica is killed: the
other replica takes the traffic, the supervisor restarts the killed one, and every acknowledged
message is in its conversation's tracker exactly once and in order."""

from __future__ import annotations

import signal

import pytest

from bot.loadtest.run import load
from tests.cluster.conftest import rest_turn, wait_ready

pytestmark = [pytest.mark.cluster, pytest.mark.stack, pytest.mark.asyncio(scope="session")]

USERS = 6
SECONDS = 25
RECOVERY_SECONDS = 120


async def test_killing_a_dialogue_replica_under_load_loses_and_reorders_nothing(cluster, tmp_path) -> None:
    replica = cluster.stack.service("dialogue-1")

    async def kill_replica() -> None:
        replica.process.send_signal(signal.SIGKILL)

    result = await load(
        cluster,
        users=USERS,
        seconds=SECONDS,
        name="kill-dialogue",
        fault=kill_replica,
        fault_after_seconds=8,
        results_dir=tmp_path,
    )

    verdict = result.verdict
    assert verdict.acknowledged > 20, result.rows
    assert verdict.missing == [] and verdict.duplicated == [] and verdict.reordered == [], verdict.describe()
    assert result.stack_traces == 0, result.errors
    # The supervisor brought the killed replica back, and both answer through nginx again.
    assert replica.restarts == 1
    assert await wait_ready(f"http://127.0.0.1:{cluster.layout.dialogue_ports[0]}/health/ready", RECOVERY_SECONDS)
    for number in range(2):
        status, replies = await rest_turn(cluster, "after-the-kill", f"hei {number}")
        assert status == 200 and replies
