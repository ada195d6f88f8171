"""schemathesis against the case-system API, with the key: every operation in /api/v1/openapi.json,
generated from its schema and beyond it, with all of schemathesis's checks (no 5xx, every answer in
its documented schema and status codes, invalid input refused, valid input accepted, 405s with
`Allow`). schemathesis lives in .venv-tools (its dependencies clash with Rasa's)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path

import pytest
from aiohttp import web

from bot.case_system.contract.enums import CaseworkerRole
from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.http.app import create_app
from bot.case_system.http.context import ACTOR_HEADER, CASE_SYSTEM
from bot.case_system.http.routes import ENDPOINTS
from bot.case_system.store.database import upgrade_database
from bot.case_system.store.models import Caseworker
from bot.config import REPO_ROOT
from tests.bot.case_system.conftest import API_KEY, TODAY_UTC, desk_env, make_settings, rasa  # noqa: F401 (fixtures)
from tests.fuzz.conftest import LONG

SCHEMATHESIS = REPO_ROOT / ".venv-tools" / "bin" / "schemathesis"
# Bounded in `make test`: explicit examples, boundary coverage and a few generated cases per
# operation. `make fuzz`: every phase (stateful sequences too) with many more cases, for ten minutes.
BOUNDED = ["--phases", "examples,coverage,fuzzing", "--max-examples", "3", "--seed", "20261206"]
# A time budget keeps `make fuzz` predictable: unbounded, the stateful phase ran past 25 minutes.
LONG_RUN = ["--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "200", "--max-time", "600"]
# The caseworker routes act for an active caseworker (a supervisor, so reassigning is reached too).
SUPERVISOR = "fuzz-supervisor"
CASEWORKER_OPERATIONS = [endpoint.operation_id for endpoint in ENDPOINTS if endpoint.caseworker]
# Operations with a rule no JSON Schema can state, so a value drawn from the schema may break it
# and is rightly refused with 422: a date relative to today (a plan's first due date, a new due
# date, a payment not in the future, a birth date), a phone number valid in its country's
# numbering plan (contact_phone, the SMS sender and recipient), a national identity number's
# mod-11 check digits, whether a username names an active caseworker (reassigning), and whether a
# caseworker's text has characters an SMS can carry (on an SMS conversation only). For these
# alone "valid data accepted" also takes 422; every other check runs on them unchanged.
SEMANTIC_RULE_OPERATIONS = [
    "quotePaymentPlan",
    "createPaymentPlan",
    "createPostponement",
    "registerPayment",
    "createHandoff",
    "recordInboundSms",
    "enqueueSms",
    "verifyIdentity",
    "reassignHandoff",
    "sendCaseworkerMessage",
]
ACCEPTED_WITH_SEMANTIC_RULES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
# schemathesis's refusals, and 413: a body past 64 KiB (a transcript of 501 messages) is refused
# before its fields are read, as every body operation documents.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
SUMMARY = re.compile(r"(\d+) generated, (?:(\d+) found (\d+) unique failures|(\d+) passed|no failures)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(path: Path) -> Path:
    """schemathesis.toml (TOML takes JSON's strings and arrays as written)."""
    path.write_text(
        f"[checks.negative_data_rejection]\nexpected-statuses = {json.dumps(REFUSALS)}\n\n"
        "[[operations]]\n"
        f"include-operation-id = {json.dumps(CASEWORKER_OPERATIONS)}\n"
        f"headers = {{ {json.dumps(ACTOR_HEADER)} = {json.dumps('caseworker:' + SUPERVISOR)} }}\n\n"
        "[[operations]]\n"
        f"include-operation-id = {json.dumps(SEMANTIC_RULE_OPERATIONS)}\n"
        "checks.positive_data_acceptance.expected-statuses = "
        f"{json.dumps(ACCEPTED_WITH_SEMANTIC_RULES)}\n"
    )
    return path


async def add_supervisor(app: web.Application) -> None:
    async with app[CASE_SYSTEM].sessions() as session:
        session.add(
            Caseworker(
                username=SUPERVISOR,
                name="Fuzz Supervisor",
                role=CaseworkerRole.SUPERVISOR,
                password_hash=None,
                active=True,
                failed_logins=0,
                created_at=TODAY_UTC,
            )
        )
        await session.commit()


async def run_schemathesis(base_url: str, report: Path, config: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {API_KEY}",
        "--checks",
        "all",
        "--workers",
        "1",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *(LONG_RUN if LONG else BOUNDED),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode(errors="replace")


async def test_the_case_api_survives_schemathesis(tmp_path: Path, desk_env: dict[str, str]) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: run `make setup` (scripts/setup.sh builds .venv-tools)")
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    await asyncio.to_thread(upgrade_database, url)
    # The stand-in dialogue server, so that take, reassign, return and messages reach their end.
    settings = make_settings(url, **desk_env)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with app[CASE_SYSTEM].sessions() as session:
            await load_demo_data(session, settings)
        await add_supervisor(app)
        code, output = await run_schemathesis(
            f"http://127.0.0.1:{port}", tmp_path / "schemathesis.xml", write_config(tmp_path / "schemathesis.toml")
        )
    finally:
        await runner.cleanup()
    summary = SUMMARY.search(output)
    print(summary.group(0) if summary else output[-400:])  # the figures `make fuzz` reports
    assert code == 0, output[-6000:]
