"""Runs the three processes in the foreground, keeps them running, and stops them together.

Each child runs in its own session so that a Ctrl-C in the terminal reaches only the runner,
which then stops the children in order. A child that fails during start-up stops the start (a
configuration error should be seen, not retried forever). Once a child has served, a supervisor
restarts it when it exits, or when it stops answering its health check (a hung process is as
unavailable as a dead one), waiting longer after each restart in a row.

Secrets never appear on a command line (`ps` shows those to every user): the children read them
from their environment. Files the children create are theirs alone (umask 077: databases 0600),
and the children's logs are 0640.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Awaitable, Callable, Optional

import aiohttp

from bot.config import REPO_ROOT, Settings
from bot.provisioning import model_path, rasa_environment

STOP_GRACE_SECONDS = 10
CHILD_UMASK = 0o077
LOG_FILE_MODE = 0o640

# Supervision once the stack has served.
CHECK_INTERVAL_SECONDS = 2.0
HEALTH_TIMEOUT_SECONDS = 2.0
UNANSWERED_CHECKS_BEFORE_RESTART = 5  # about 10 to 20 s without an answer: the child is hung
FIRST_RESTART_DELAY_SECONDS = 0.5
MAX_RESTART_DELAY_SECONDS = 30.0
# A restarted child may take this long to answer again (the dialogue server loads its model)
# before its unanswered checks count: otherwise it is killed again while it loads.
RESTART_GRACE_SECONDS = 180.0
STABLE_AFTER_SECONDS = 60.0  # healthy this long after a restart: the next restart waits briefly again

# The relay passes a child's output on line by line; a line is cut at this length, so that no
# line (a 2 MB exception message, say) can stop the relay and, with it, the child writing to it.
MAX_RELAYED_LINE_BYTES = 16 * 1024
READ_CHUNK_BYTES = 64 * 1024


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    # Variables over the stack's own environment (a replica's port, say) and the signal that
    # stops it gracefully (nginx: SIGQUIT; SIGTERM is its fast shutdown).
    environment: dict[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    process: Optional[asyncio.subprocess.Process] = field(default=None, repr=False)
    served: bool = False  # answered its health check at least once
    restarts: int = 0
    restart_delay: float = 0.0  # the pause before its next restart; 0: the first pause
    started_at: float = 0.0
    unanswered_checks: int = 0
    answered_since_start: bool = False


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
                python,
                "-m",
                "bot.dialogue_server",
                "run",
                "--model",
                str(model_path(settings)),
                # The API token comes from RASA_API_TOKEN in the environment (bot.dialogue_server).
                "--enable-api",
                "--interface",
                host,
                "--port",
                str(settings.rasa_port),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            # Needs no token: 200 only once the model is loaded (bot.dialogue_server).
            f"http://{host}:{settings.rasa_port}/health",
        ),
    ]


# Rasa logs this as an error for every health check that arrives while it loads the model.
START_UP_NOISE = b"No agent loaded. To continue processing"


async def relay_lines(stream: asyncio.StreamReader, write) -> None:
    """Calls `write(line)` for each line read from `stream` (without its newline, cut at
    MAX_RELAYED_LINE_BYTES) until the stream ends. It never stops early: a child blocks when its
    output pipe is full, so the pipe is drained whatever the lines hold and whatever `write` does."""
    kept, dropped = b"", 0
    while chunk := await stream.read(READ_CHUNK_BYTES):
        *ended, rest = chunk.split(b"\n")
        for part in ended:
            kept, dropped = _append(kept, dropped, part)
            _safe_write(write, _marked(kept, dropped))
            kept, dropped = b"", 0
        kept, dropped = _append(kept, dropped, rest)
    if kept or dropped:
        _safe_write(write, _marked(kept, dropped))


def _append(kept: bytes, dropped: int, part: bytes) -> tuple[bytes, int]:
    room = MAX_RELAYED_LINE_BYTES - len(kept)
    return kept + part[:room], dropped + max(0, len(part) - room)


def _marked(kept: bytes, dropped: int) -> bytes:
    return kept + (f" [line cut: {dropped} more bytes]".encode() if dropped else b"")


def _safe_write(write, line: bytes) -> None:
    try:
        write(line)
    except Exception:  # a closed terminal must not stop the draining
        pass


def _private_files() -> None:
    os.umask(CHILD_UMASK)


async def _is_healthy(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


def open_log_file(path: Path) -> IO[bytes]:
    """`path` for appending, readable by its owner and group only (0640)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_FILE_MODE)
    os.fchmod(descriptor, LOG_FILE_MODE)  # also when the file existed with a wider mode
    return os.fdopen(descriptor, "ab")


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
        self._log_files: dict[str, IO[bytes]] = {}
        self._supervisor: Optional[asyncio.Task] = None
        self._stopping = False

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    async def start(self) -> None:
        """Starts every child, and the supervisor that keeps the ones that have served running."""
        for service in self.services:
            await self._spawn(service)
        self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self, service: Service) -> None:
        output: object = asyncio.subprocess.DEVNULL if self.quiet else asyncio.subprocess.PIPE
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            if service.name not in self._log_files:
                self._log_files[service.name] = open_log_file(self.log_dir / f"{service.name}.log")
            output = self._log_files[service.name]
        service.process = await asyncio.create_subprocess_exec(
            *service.command,
            cwd=REPO_ROOT,
            env={**rasa_environment(self.settings), **service.environment},
            stdout=output,
            stderr=asyncio.subprocess.DEVNULL if output is asyncio.subprocess.DEVNULL else asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_private_files,  # Popen's umask= is not taken by uvloop's loop
        )
        service.started_at = time.monotonic()
        service.unanswered_checks = 0
        service.answered_since_start = False
        if output is asyncio.subprocess.PIPE:
            self._relays.append(asyncio.create_task(self._relay(service, service.process)))

    async def _relay(self, service: Service, process: asyncio.subprocess.Process) -> None:
        prefix = f"[{service.name}] ".encode()

        def write(line: bytes) -> None:
            if START_UP_NOISE not in line:
                sys.stdout.buffer.write(prefix + line + b"\n")
                sys.stdout.flush()

        assert process.stdout is not None
        await relay_lines(process.stdout, write)

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
        """Seconds until every service answered its health check; raises if one that never served
        died, or when time ran out."""
        started = time.monotonic()
        pending = list(self.services)
        async with aiohttp.ClientSession() as http:
            while pending:
                failed = [s for s in self.exited() if not s.served]
                if failed:
                    names = ", ".join(s.name for s in failed)
                    raise RuntimeError(f"stopped during start-up: {names}{self._last_lines(failed)}")
                if time.monotonic() - started > timeout_seconds:
                    raise TimeoutError("not healthy in time: " + ", ".join(s.name for s in pending))
                checks = await asyncio.gather(*(_is_healthy(http, s.health_url) for s in pending))
                for service, healthy in zip(pending, checks):
                    service.served = service.served or healthy
                pending = [s for s, healthy in zip(pending, checks) if not healthy]
                if pending:
                    await asyncio.sleep(0.25)
        return time.monotonic() - started

    async def _supervise(self) -> None:
        """Restarts a child that has served once it exits or stops answering its health check."""
        async with aiohttp.ClientSession() as http:
            while not self._stopping:
                await asyncio.sleep(CHECK_INTERVAL_SECONDS)
                running = [s for s in self.services if s.served and s.process and s.process.returncode is None]
                checks = await asyncio.gather(*(_is_healthy(http, s.health_url) for s in running))
                for service, healthy in zip(running, checks):
                    loading = service.restarts and not service.answered_since_start
                    service.answered_since_start = service.answered_since_start or healthy
                    if loading and not healthy and time.monotonic() - service.started_at < RESTART_GRACE_SECONDS:
                        continue
                    service.unanswered_checks = 0 if healthy else service.unanswered_checks + 1
                    if healthy and time.monotonic() - service.started_at > STABLE_AFTER_SECONDS:
                        service.restart_delay = 0.0
                for service in self.services:
                    if self._stopping or not service.served or service.process is None:
                        continue
                    if service.process.returncode is not None:
                        await self._restart(service, f"exited with status {service.process.returncode}")
                    elif service.unanswered_checks >= UNANSWERED_CHECKS_BEFORE_RESTART:
                        await self._restart(service, f"did not answer {service.unanswered_checks} health checks")

    async def _restart(self, service: Service, why: str) -> None:
        delay = service.restart_delay or FIRST_RESTART_DELAY_SECONDS
        print(f"debtbot: {service.name} {why}; restarting it in {delay:g} s", file=sys.stderr, flush=True)
        if service.process and service.process.returncode is None:
            service.process.kill()
            await service.process.wait()
        await asyncio.sleep(delay)
        if self._stopping:
            return
        service.restart_delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
        service.restarts += 1
        await self._spawn(service)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        running = [s for s in self.services if s.process and s.process.returncode is None]
        for service in running:
            service.process.send_signal(service.stop_signal)
        try:
            await asyncio.wait_for(asyncio.gather(*(s.process.wait() for s in running)), STOP_GRACE_SECONDS)
        except asyncio.TimeoutError:
            for service in running:
                if service.process.returncode is None:
                    service.process.kill()
            await asyncio.gather(*(s.process.wait() for s in running))
        # The relays end by themselves once a child's output closes; waiting for them keeps
        # the last lines a child printed.
        if self._relays:
            await asyncio.wait(self._relays, timeout=2)
        for relay in self._relays:
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        for log_file in self._log_files.values():
            log_file.close()
        self._log_files.clear()


def describe(settings: Settings) -> str:
    base = f"http://{settings.host}"
    return "\n".join(
        [
            "debtbot is running:",
            f"  web chat                         {base}:{settings.backoffice_port}/",
            f"  caseworker console               {base}:{settings.backoffice_port}/console",
            *(
                [
                    "    demo logins: `demo` (caseworker) and `supervisor`; their passwords are",
                    "    CASEWORKER_DEMO_PASSWORD and SUPERVISOR_DEMO_PASSWORD in .env",
                ]
                if settings.demo_mode
                else ["    accounts: debtbot caseworker add USERNAME --name NAME"]
            ),
            f"  case system API                  {base}:{settings.backoffice_port}/api/v1 (Bearer CASE_API_KEY)",
            f"  dialogue server (REST channel)   {base}:{settings.rasa_port}/webhooks/rest/webhook",
            f"  action server                    {base}:{settings.action_server_port}/webhook",
            "Press Ctrl-C to stop.",
        ]
    )


async def serve_until_signalled(
    stack: Stack, describe_started: Callable[[], str], stop: Callable[[], Awaitable[None]], timeout_seconds: float
) -> int:
    """Starts `stack`, prints `describe_started()` once every process is healthy, and runs until
    SIGINT or SIGTERM; then `stop()`. 1 when the start failed, else 0."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)

    await stack.start()
    stopper = asyncio.ensure_future(stop_requested.wait())
    starting = asyncio.ensure_future(stack.wait_healthy(timeout_seconds=timeout_seconds))
    await asyncio.wait({stopper, starting}, return_when=asyncio.FIRST_COMPLETED)
    status = 0
    if starting.done() and starting.exception() is None:
        print(f"{describe_started()}\n(healthy after {starting.result():.1f} s)", flush=True)
        await stopper
    elif starting.done():
        print(f"debtbot: {starting.exception()}", file=sys.stderr, flush=True)
        status = 1
    starting.cancel()
    stopper.cancel()
    await stop()
    return status


async def run_stack(settings: Settings, services: Optional[list[Service]] = None) -> int:
    """Starts the stack (the three processes, or `services`), keeps it running until SIGINT or
    SIGTERM, then stops everything."""
    stack = Stack(settings, services)
    status = await serve_until_signalled(stack, lambda: describe(settings), stack.stop, timeout_seconds=120)
    print("debtbot: stopped", flush=True)
    return status
