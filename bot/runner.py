"""Runs the three processes in the foreground and stops them together.

Each child runs in its own session so that a Ctrl-C in the terminal reaches only the runner,
which then stops the children in order. If one child dies, the others are stopped too: a half
stack that looks alive is worse than none.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import aiohttp

from bot.config import REPO_ROOT, Settings
from bot.provisioning import model_path, rasa_environment

STOP_GRACE_SECONDS = 10


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    process: Optional[asyncio.subprocess.Process] = field(default=None, repr=False)


def stack_services(settings: Settings) -> list[Service]:
    python = sys.executable
    host = settings.host
    return [
        Service(
            "backoffice",
            [python, "-m", "bot.backoffice"],
            f"http://{host}:{settings.backoffice_port}/api/v1/health",
        ),
        Service(
            "actions",
            [python, "-m", "bot.action_server"],
            f"http://{host}:{settings.action_server_port}/health",
        ),
        Service(
            "dialogue",
            [
                python, "-m", "bot.dialogue_server", "run",
                "--model", str(model_path(settings)),
                # One argument with "=": a generated token may start with "-", which argparse
                # would otherwise take for an option and refuse to start.
                "--enable-api", f"--auth-token={settings.rasa_api_token}",
                "--interface", host, "--port", str(settings.rasa_port),
                "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
            ],
            f"http://{host}:{settings.rasa_port}/status?token={settings.rasa_api_token}",
        ),
    ]


# Rasa logs this as an error for every health check that arrives while it loads the model.
START_UP_NOISE = "No agent loaded. To continue processing"


async def _relay_output(service: Service) -> None:
    """Prefixes each line a child prints with its name."""
    assert service.process and service.process.stdout
    async for raw in service.process.stdout:
        line = raw.decode(errors="replace")
        if START_UP_NOISE not in line:
            sys.stdout.write(f"[{service.name}] {line}")
            sys.stdout.flush()


async def _is_healthy(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


class Stack:
    def __init__(
        self,
        settings: Settings,
        services: Optional[list[Service]] = None,
        *,
        quiet: bool = False,
        log_dir: Optional[Path] = None,
    ) -> None:
        """`quiet` discards the children's output; `log_dir` writes each child's to `<name>.log` there."""
        self.settings = settings
        self.services = services or stack_services(settings)
        self.quiet = quiet
        self.log_dir = log_dir
        self._relays: list[asyncio.Task] = []
        self._log_files: list = []

    async def start(self) -> None:
        env = rasa_environment(self.settings)
        for service in self.services:
            output = asyncio.subprocess.DEVNULL if self.quiet else asyncio.subprocess.PIPE
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = open(self.log_dir / f"{service.name}.log", "ab")
                self._log_files.append(output)
            service.process = await asyncio.create_subprocess_exec(
                *service.command,
                cwd=REPO_ROOT,
                env=env,
                stdout=output,
                stderr=asyncio.subprocess.DEVNULL if output is asyncio.subprocess.DEVNULL else asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            if output is asyncio.subprocess.PIPE:
                self._relays.append(asyncio.create_task(_relay_output(service)))

    def _last_lines(self, services: list[Service], count: int = 15) -> str:
        """The end of each stopped service's log, when the output goes to files."""
        if self.log_dir is None:
            return ""
        tails = []
        for service in services:
            path = self.log_dir / f"{service.name}.log"
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-count:]
                tails.append(f"\n--- last lines of {path.name} ---\n" + "\n".join(lines))
        return "".join(tails)

    def exited(self) -> list[Service]:
        return [s for s in self.services if s.process and s.process.returncode is not None]

    async def wait_healthy(self, timeout_seconds: float = 120) -> float:
        """Seconds until every service answered its health check; raises if one died or timed out."""
        started = time.monotonic()
        pending = list(self.services)
        async with aiohttp.ClientSession() as http:
            while pending:
                if self.exited():
                    names = ", ".join(s.name for s in self.exited())
                    raise RuntimeError(f"stopped during start-up: {names}{self._last_lines(self.exited())}")
                if time.monotonic() - started > timeout_seconds:
                    raise TimeoutError("not healthy in time: " + ", ".join(s.name for s in pending))
                checks = await asyncio.gather(*(_is_healthy(http, s.health_url) for s in pending))
                pending = [s for s, healthy in zip(pending, checks) if not healthy]
                if pending:
                    await asyncio.sleep(0.25)
        return time.monotonic() - started

    async def wait_for_exit(self) -> Service:
        waits = {asyncio.ensure_future(s.process.wait()): s for s in self.services if s.process}
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        return waits[next(iter(done))]

    async def stop(self) -> None:
        running = [s for s in self.services if s.process and s.process.returncode is None]
        for service in running:
            service.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(
                asyncio.gather(*(s.process.wait() for s in running)), STOP_GRACE_SECONDS
            )
        except asyncio.TimeoutError:
            for service in running:
                if service.process.returncode is None:
                    service.process.kill()
            await asyncio.gather(*(s.process.wait() for s in running))
        for relay in self._relays:
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        for log_file in self._log_files:
            log_file.close()
        self._log_files.clear()


def describe(settings: Settings) -> str:
    base = f"http://{settings.host}"
    return "\n".join(
        [
            "debtbot is running:",
            f"  web chat and caseworker console  {base}:{settings.backoffice_port}/",
            f"  case system API                  {base}:{settings.backoffice_port}/api/v1 (Bearer CASE_API_KEY)",
            f"  dialogue server (REST channel)   {base}:{settings.rasa_port}/webhooks/rest/webhook",
            f"  action server                    {base}:{settings.action_server_port}/webhook",
            "Press Ctrl-C to stop.",
        ]
    )


async def run_stack(settings: Settings) -> int:
    """Starts the stack, waits for SIGINT or SIGTERM (or a child's death), stops everything."""
    stack = Stack(settings)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)

    await stack.start()
    stopper = asyncio.ensure_future(stop_requested.wait())
    starting = asyncio.ensure_future(stack.wait_healthy())
    await asyncio.wait({stopper, starting}, return_when=asyncio.FIRST_COMPLETED)
    status = 0
    if starting.done() and starting.exception() is None:
        print(f"{describe(settings)}\n(healthy after {starting.result():.1f} s)", flush=True)
        child_exit = asyncio.ensure_future(stack.wait_for_exit())
        await asyncio.wait({stopper, child_exit}, return_when=asyncio.FIRST_COMPLETED)
        if child_exit.done():
            print(f"debtbot: {child_exit.result().name} stopped unexpectedly; stopping the rest", file=sys.stderr, flush=True)
            status = 1
        child_exit.cancel()
    elif starting.done():
        print(f"debtbot: {starting.exception()}", file=sys.stderr, flush=True)
        status = 1
    starting.cancel()
    stopper.cancel()
    await stack.stop()
    print("debtbot: stopped", flush=True)
    return status
