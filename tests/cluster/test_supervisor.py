"""The supervisor (bot/runner.py) gives a restarted child time to load before it counts its
unanswered health checks: a dialogue-server replica takes 20 to 40 s to load its model, and was
killed again and again while it loaded."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot import runner
from bot.runner import Service, Stack
from tests.e2e.conftest import free_port, isolated_settings

SLOW_START_SECONDS = 3.0  # longer than the checks it may miss: 3 checks at 0.2 s


def slow_on_restart_service(tmp_path) -> Service:
    """Serves at once on its first start, and only after SLOW_START_SECONDS on every later one."""
    port = free_port()
    marker = tmp_path / "started-before"
    script = (
        "import http.server, pathlib, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        f"if marker.exists(): time.sleep({SLOW_START_SECONDS})\n"
        "marker.touch()\n"
        f"http.server.ThreadingHTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    return Service("dialogue-1", [sys.executable, "-c", script], f"http://127.0.0.1:{port}/")


async def test_a_restarted_child_is_not_killed_while_it_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "CHECK_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(runner, "HEALTH_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(runner, "UNANSWERED_CHECKS_BEFORE_RESTART", 3)
    monkeypatch.setattr(runner, "FIRST_RESTART_DELAY_SECONDS", 0.1)
    service = slow_on_restart_service(tmp_path)
    stack = Stack(isolated_settings(tmp_path), [service], quiet=True)
    await stack.start()
    try:
        await stack.wait_healthy(timeout_seconds=20)
        os.kill(service.process.pid, signal.SIGKILL)
        for _ in range(200):
            if service.restarts == 1 and service.answered_since_start:
                break
            await asyncio.sleep(0.05)
        assert service.restarts == 1 and service.answered_since_start  # answered after its slow start
        await asyncio.sleep(1.0)
        assert service.restarts == 1  # and was not replaced meanwhile
    finally:
        await stack.stop()
