"""The three processes, started as `debtbot run` starts them, on free ports with their own stores."""

from __future__ import annotations

import os
import random
import secrets
import socket
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.provisioning import prepare_case_system, train_model
from bot.runner import Stack

DEMO_CASEWORKER_PASSWORD = "demo-" + secrets.token_urlsafe(12)  # the demo caseworker `demo`


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up). Ports handed out by the kernel
    for port 0 come from that range, where the many client connections of earlier stacks leave
    sockets in TIME_WAIT that make a server's bind fail now and then."""
    while True:
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def isolated_settings(root: Path, **overrides: str) -> Settings:
    """Settings for a stack of its own: stores under `root`, free ports, fresh secrets, demo data.
    `overrides` are further environment variables (for example DATABASE_URL for PostgreSQL)."""
    return load_settings(
        env={
            "DATABASE_URL": f"sqlite:///{root / 'cases.db'}",
            "TRACKER_STORE_URL": f"sqlite:///{root / 'tracker.db'}",
            "REDIS_URL": "",
            "CASE_API_KEY": secrets.token_urlsafe(16),
            "RASA_API_TOKEN": secrets.token_urlsafe(16),
            "CONVERSATION_ID_KEY": secrets.token_urlsafe(16),
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(16),
            "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
            "METRICS_TOKEN": secrets.token_urlsafe(16),
            "CASEWORKER_DEMO_PASSWORD": DEMO_CASEWORKER_PASSWORD,
            "BACKOFFICE_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
            "ACTION_SERVER_PORT": str(free_port()),
            "DEMO_MODE": "true",
            # Parallel work can train into its own directory instead of the shared models/.
            **({"MODELS_DIR": os.environ["MODELS_DIR"]} if os.environ.get("MODELS_DIR") else {}),
            **overrides,
        },
        env_file=root / "no.env",
    )


@pytest.fixture(scope="session")
def stack_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def stack_settings(stack_root: Path) -> Settings:
    return isolated_settings(stack_root)


@pytest.fixture(scope="session")
async def running_stack(stack_settings: Settings, stack_root: Path):
    """The shared stack; each process's output is in `stack.log_dir` (<name>.log)."""
    train_model(stack_settings)
    await prepare_case_system(stack_settings)
    stack = Stack(stack_settings, log_dir=stack_root / "logs")
    await stack.start()
    try:
        await stack.wait_healthy(timeout_seconds=180)
        yield stack
    finally:
        await stack.stop()


def pytest_collection_modifyitems(config, items) -> None:
    """With pytest-xdist (`make test` runs two workers), every stack test goes to one worker: the
    stacks are started once, and the other worker runs the rest of the suite meanwhile."""
    for item in items:
        if item.get_closest_marker("stack") is not None:
            item.add_marker(pytest.mark.xdist_group("stack"))
