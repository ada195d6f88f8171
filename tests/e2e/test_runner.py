"""`debtbot run` brings up all three processes and stops every one of them on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from bot.config import REPO_ROOT
from bot.provisioning import train_model
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.stack


def start_runner(stack_settings, tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        **stack_settings.as_environment(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "BACKOFFICE_PORT": str(free_port()),
        "RASA_PORT": str(free_port()),
        "ACTION_SERVER_PORT": str(free_port()),
        "CASE_API_URL": "",
        "ACTION_ENDPOINT_URL": "",
        "PUBLIC_BASE_URL": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_healthy(runner: subprocess.Popen, timeout: float = 180) -> list[str]:
    deadline = time.monotonic() + timeout
    lines = []
    for line in runner.stdout:
        lines.append(line)
        if "healthy after" in line:
            return lines
        assert time.monotonic() < deadline, "not healthy in time"
    raise AssertionError("runner exited before it was healthy:\n" + "".join(lines[-30:]))


# SIGINT (Ctrl-C) takes the same path; it is tested without the full stack in tests/bot/test_runner.py.
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM])
def test_all_processes_start_and_stop_together(stack_settings, tmp_path, stop_signal) -> None:
    train_model(stack_settings)
    runner = start_runner(stack_settings, tmp_path)
    try:
        output = wait_until_healthy(runner)
        children = psutil.Process(runner.pid).children(recursive=True)
        assert len(children) >= 3
        assert any("/webhooks/rest/webhook" in line for line in output)

        runner.send_signal(stop_signal)
        remaining = runner.communicate(timeout=60)[0]
        assert runner.returncode == 0, remaining[-2000:]
        assert "debtbot: stopped" in remaining
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == []
    finally:
        if runner.poll() is None:
            runner.kill()
