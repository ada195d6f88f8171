"""`debtbot loadtest` (`make loadtest`): locust through the cluster's nginx with 1, then 2 dialogue
replicas; prints throughput, p50/p95/p99 and errors of each run, then checks that every
acknowledged message is in its conversation's tracker exactly once and in order.

Each run starts its own cluster (bot/cluster.py) and stops it afterwards; locust runs headless in
.venv-tools (bot/loadtest/locustfile.py) on loopback, with a bounded number of users and time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import json
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional

import aiohttp
import yaml

from bot.cluster import Cluster
from bot.config import REPO_ROOT, VAR_DIR, Settings, load_settings
from bot.loadtest import DEFAULT_SECONDS, DEFAULT_USERS
from bot.loadtest.verify import Verdict, verify

LOCUST = REPO_ROOT / ".venv-tools" / "bin" / "locust"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RESULTS_DIR = VAR_DIR / "loadtest"
WARM_UP_TURNS_PER_REPLICA = 3
LOCUST_STOP_SECONDS = 25  # users finish the turn they are in


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p95: float
    p99: float

    def describe(self) -> str:
        return (
            f"  {self.name:<16} {self.requests:>6} req {self.per_second:>7.2f}/s  p50 {self.p50:>6.0f} ms  "
            f"p95 {self.p95:>6.0f} ms  p99 {self.p99:>6.0f} ms  errors {self.failures}"
        )


@dataclass
class LoadResult:
    replicas: int
    rows: list[Row]
    verdict: Verdict
    seconds: float
    errors: dict[str, int]  # locust's failures: the error's description, how often

    @property
    def stack_traces(self) -> int:
        return sum(count for error, count in self.errors.items() if "stack trace" in error)

    @property
    def turns(self) -> Row:
        """The dialogue turns (REST and web chat), whose answer waits for the dialogue server."""
        turns = [row for row in self.rows if row.name in ("rest turn", "web chat turn")]
        requests = sum(row.requests for row in turns)
        return Row(
            "turns",
            requests,
            sum(row.failures for row in turns),
            sum(row.per_second for row in turns),
            max((row.p50 for row in turns), default=0),
            max((row.p95 for row in turns), default=0),
            max((row.p99 for row in turns), default=0),
        )


def apology_beginnings(response: str) -> list[str]:
    """The fixed beginning of each variant of a domain response (before its first {placeholder})."""
    for path in sorted((REPO_ROOT / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text()) or {}).get("responses") or {}
        if response in responses:
            return [variant["text"].split("{")[0] for variant in responses[response] if variant.get("text")]
    raise LookupError(f"no response {response} in domain/")


def read_errors(csv_prefix: Path) -> dict[str, int]:
    errors: dict[str, int] = {}
    path = Path(f"{csv_prefix}_failures.csv")
    if path.exists():
        with path.open(newline="") as failures:
            for item in csv.DictReader(failures):
                key = f"{item['Name']}: {item['Error']}"
                errors[key] = errors.get(key, 0) + int(item["Occurrences"])
    return errors


def read_stats(csv_prefix: Path) -> list[Row]:
    rows = []
    with open(f"{csv_prefix}_stats.csv", newline="") as stats:
        for item in csv.DictReader(stats):
            name = item["Name"] if item["Type"] else "all"
            rows.append(
                Row(
                    name if item["Name"] != "Aggregated" else "all",
                    int(item["Request Count"]),
                    int(item["Failure Count"]),
                    float(item["Requests/s"]),
                    float(item["50%"] or 0),
                    float(item["95%"] or 0),
                    float(item["99%"] or 0),
                )
            )
    return rows


async def warm_up(cluster: Cluster) -> None:
    """A few turns through nginx, so that every replica has answered before the clock starts."""
    async with aiohttp.ClientSession() as http:
        for number in range(WARM_UP_TURNS_PER_REPLICA * len(cluster.layout.dialogue_ports)):
            async with http.post(
                f"{cluster.public_url}/webhooks/rest/webhook",
                json={"sender": f"warm-up-{secrets.token_hex(6)}", "message": f"hei {number}"},
            ) as reply:
                await reply.read()


async def load(
    cluster: Cluster,
    *,
    users: int,
    seconds: int,
    name: str,
    fault: Optional[Callable[[], Awaitable[None]]] = None,
    fault_after_seconds: float = 0,
    web_transports: str = "websocket,polling",
    results_dir: Path = RESULTS_DIR,
) -> LoadResult:
    """Runs locust against `cluster` for `seconds` (with `fault` awaited after
    `fault_after_seconds`), then checks the trackers."""
    results_dir.mkdir(parents=True, exist_ok=True)
    acks = results_dir / f"{name}-acks.jsonl"
    acks.unlink(missing_ok=True)
    csv_prefix = results_dir / name
    environment = {
        "LOADTEST_ACKS": str(acks),
        "LOADTEST_TWILIO_TOKEN": cluster.settings.twilio_auth_token,
        "LOADTEST_APOLOGIES": json.dumps(apology_beginnings("utter_assistant_unavailable")),
        "LOADTEST_SMS_TRY_AGAIN": json.dumps(apology_beginnings("utter_sms_try_again_later")),
        "LOADTEST_WEB_TRANSPORTS": web_transports,
        "PATH": "/usr/bin:/bin",
    }
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        str(LOCUST_STOP_SECONDS),
        "--host",
        cluster.public_url,
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
    ]
    started = time.monotonic()
    with open(results_dir / f"{name}-locust.log", "wb") as log:
        locust = await asyncio.create_subprocess_exec(
            *command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        if fault is not None:
            await asyncio.sleep(fault_after_seconds)
            await fault()
        await locust.wait()
    elapsed = time.monotonic() - started
    verdict = await asyncio.to_thread(verify, acks, cluster.settings)
    return LoadResult(
        len(cluster.layout.dialogue_ports), read_stats(csv_prefix), verdict, elapsed, read_errors(csv_prefix)
    )


def loadtest_settings(settings: Settings, replicas: int) -> Settings:
    """The cluster's settings for a run: `replicas` dialogue servers, and a Twilio token to sign
    with when none is configured (the SMS replies stay in the outbox without a Twilio account)."""
    return dataclasses.replace(
        settings,
        dialogue_replicas=replicas,
        twilio_auth_token=settings.twilio_auth_token or secrets.token_urlsafe(24),
    )


async def run_once(settings: Settings, replicas: int, users: int, seconds: int) -> LoadResult:
    cluster = Cluster(loadtest_settings(settings, replicas))
    await cluster.prepare()
    print(f"loadtest: starting the cluster with {replicas} dialogue replica(s)", flush=True)
    await cluster.start()
    try:
        await warm_up(cluster)
        print(f"loadtest: {users} users for {seconds} s through {cluster.public_url}", flush=True)
        return await load(cluster, users=users, seconds=seconds, name=f"replicas-{replicas}")
    finally:
        await cluster.stop()


def report(results: list[LoadResult]) -> str:
    lines = []
    for result in results:
        lines.append(f"{result.replicas} dialogue replica(s):")
        lines += [row.describe() for row in result.rows]
        lines.append(result.turns.describe())
        lines += [f"  error: {error} x {count}" for error, count in result.errors.items()]
        lines.append(f"  trackers: {result.verdict.describe()}")
    by_replicas = {result.replicas: result for result in results}
    if 1 in by_replicas and 2 in by_replicas:
        one, two = by_replicas[1].turns, by_replicas[2].turns
        if one.per_second:
            lines.append(
                f"2 replicas / 1 replica: turn throughput {two.per_second / one.per_second:.2f} x "
                f"(target >= 1.6), p95 {two.p95:.0f} ms against {one.p95:.0f} ms"
            )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    results = []
    for replicas in [int(value) for value in args.replicas.split(",")]:
        results.append(asyncio.run(run_once(settings, replicas, args.users, args.seconds)))
        print(report(results[-1:]), flush=True)
    print("\n" + report(results), flush=True)
    return 0 if all(result.verdict.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(argparse.Namespace(users=DEFAULT_USERS, seconds=DEFAULT_SECONDS, replicas="1,2")))
