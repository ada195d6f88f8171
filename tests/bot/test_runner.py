"""The runner keeps the stack up: it drains any output, restarts a child that dies or hangs, keeps
secrets off command lines, and keeps the files it and its children make private."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path

import aiohttp
import pytest

from bot import runner
from bot.config import load_settings
from bot.dialogue_server import rasa_arguments
from bot.runner import MAX_RELAYED_LINE_BYTES, Service, Stack, relay_lines, stack_services
from tests.e2e.conftest import free_port


def settings_for(tmp_path: Path):
    return load_settings(env={"RASA_API_TOKEN": "-secret-token"}, env_file=tmp_path / "none")


async def relayed(script: str) -> list[bytes]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
    lines: list[bytes] = []
    await asyncio.wait_for(relay_lines(process.stdout, lines.append), 30)
    await process.wait()
    return lines


async def test_a_line_of_megabytes_is_cut_and_the_lines_after_it_still_arrive() -> None:
    lines = await relayed("import sys; sys.stdout.write('a' * 3_000_000 + '\\nafter\\n' + 'b' * 100)")
    assert len(lines) == 3
    assert lines[0].startswith(b"a" * MAX_RELAYED_LINE_BYTES)
    assert lines[0].endswith(f" [line cut: {3_000_000 - MAX_RELAYED_LINE_BYTES} more bytes]".encode())
    assert lines[1:] == [b"after", b"b" * 100]


async def test_the_relay_drains_the_pipe_even_when_writing_fails() -> None:
    def broken(_: bytes) -> None:
        raise BrokenPipeError

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print(('x' * 100_000 + '\\n') * 50)", stdout=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(relay_lines(process.stdout, broken), 30)
    assert await asyncio.wait_for(process.wait(), 30) == 0  # it never blocked on a full pipe


def web_service(name: str, tmp_path: Path) -> Service:
    """A child that serves 200 on / and, on start, leaves a file to show the mode it gets."""
    port = free_port()
    script = (
        f"import http.server, pathlib; pathlib.Path({str(tmp_path / (name + '.db'))!r}).touch(); "
        f"http.server.ThreadingHTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()"
    )
    return Service(name, [sys.executable, "-c", script], f"http://127.0.0.1:{port}/")


@pytest.fixture
def fast_supervision(monkeypatch):
    monkeypatch.setattr(runner, "CHECK_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(runner, "HEALTH_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(runner, "UNANSWERED_CHECKS_BEFORE_RESTART", 3)
    monkeypatch.setattr(runner, "FIRST_RESTART_DELAY_SECONDS", 0.1)


async def until(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False


async def test_a_child_that_dies_is_restarted_with_growing_pauses(tmp_path, fast_supervision) -> None:
    service = web_service("backoffice", tmp_path)
    stack = Stack(settings_for(tmp_path), [service], quiet=True)
    await stack.start()
    try:
        await stack.wait_healthy(timeout_seconds=20)
        for restarts in (1, 2):
            pid = service.process.pid
            os.kill(pid, signal.SIGKILL)
            await until(lambda restarts=restarts, pid=pid: service.restarts == restarts and service.process.pid != pid)
            await stack.wait_healthy(timeout_seconds=20)
        assert service.restart_delay == pytest.approx(0.4)  # 0.1, then 0.2, now 0.4 for a third
    finally:
        await stack.stop()
    assert service.process.returncode is not None


async def test_a_child_that_stops_answering_its_health_check_is_replaced(tmp_path, fast_supervision) -> None:
    service = web_service("dialogue", tmp_path)
    stack = Stack(settings_for(tmp_path), [service], quiet=True)
    await stack.start()
    try:
        await stack.wait_healthy(timeout_seconds=20)
        hung = service.process.pid
        os.kill(hung, signal.SIGSTOP)  # alive, but answers nothing: as a child blocked on a full pipe
        await until(lambda: service.process.pid != hung)
        await stack.wait_healthy(timeout_seconds=20)
        assert await healthy(service.health_url)
    finally:
        await stack.stop()


async def test_a_child_that_fails_during_start_up_stops_the_start(tmp_path, fast_supervision) -> None:
    service = Service("actions", [sys.executable, "-c", "raise SystemExit(3)"], f"http://127.0.0.1:{free_port()}/")
    stack = Stack(settings_for(tmp_path), [service], quiet=True)
    await stack.start()
    try:
        with pytest.raises(RuntimeError, match="stopped during start-up: actions"):
            await stack.wait_healthy(timeout_seconds=20)
        await asyncio.sleep(0.5)
        assert service.restarts == 0  # a configuration error is shown, not retried
    finally:
        await stack.stop()


async def test_children_make_private_files_and_their_logs_are_0640(tmp_path, fast_supervision) -> None:
    service = web_service("backoffice", tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "backoffice.log").write_text("from an older run\n")
    os.chmod(tmp_path / "logs" / "backoffice.log", 0o644)
    stack = Stack(settings_for(tmp_path), [service], log_dir=tmp_path / "logs")
    await stack.start()
    try:
        await stack.wait_healthy(timeout_seconds=20)
    finally:
        await stack.stop()
    assert stat.S_IMODE((tmp_path / "backoffice.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs" / "backoffice.log").stat().st_mode) == 0o640


def test_no_secret_is_on_a_command_line(tmp_path) -> None:
    settings = settings_for(tmp_path)
    for service in stack_services(settings):
        assert all(settings.rasa_api_token not in part for part in service.command), service.name
        assert settings.rasa_api_token not in service.health_url


def test_the_dialogue_server_takes_its_token_from_the_environment(tmp_path) -> None:
    dialogue = next(s for s in stack_services(settings_for(tmp_path)) if s.name == "dialogue")
    arguments = dialogue.command[dialogue.command.index("run") :]
    assert rasa_arguments(arguments, {"RASA_API_TOKEN": "-8oqfnWgn"}) == [*arguments, "--auth-token=-8oqfnWgn"]
    assert rasa_arguments(arguments, {}) == arguments


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_stops_every_child_and_the_runner_ends_cleanly(tmp_path, stop_signal, capsys) -> None:
    services = [web_service("backoffice", tmp_path), web_service("actions", tmp_path)]
    running = asyncio.ensure_future(runner.run_stack(settings_for(tmp_path), services))
    printed: list[str] = []

    def started() -> bool:
        printed.append(capsys.readouterr().out)
        return "healthy after" in printed[-1] or running.done()

    await until(started)
    assert not running.done(), "".join(printed)
    os.kill(os.getpid(), stop_signal)  # as Ctrl-C in the terminal, or a service manager, sends it
    assert await asyncio.wait_for(running, 30) == 0
    assert all(service.process.returncode is not None for service in services)
