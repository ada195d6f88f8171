"""`debtbot bench`: starts the stack and measures a scripted, verified conversation over REST.

Prints and writes as JSON: per-turn latency (p50/p95/p99) of the verified balance question,
sequentially and with several concurrent conversations; throughput; start-up time until every
process is healthy; resident memory of each process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import statistics
import time
from pathlib import Path

import aiohttp
import psutil

from bot.config import REPO_ROOT, Settings
from bot.provisioning import setup
from bot.runner import Stack

VERIFY_SCRIPT = ("hei", "hva skylder jeg?", "100001", "14.03.1985")
BALANCE_QUESTION = "hvor mye skylder jeg nå?"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.50), 1),
        "p95_ms": round(percentile(samples_ms, 0.95), 1),
        "p99_ms": round(percentile(samples_ms, 0.99), 1),
        "mean_ms": round(statistics.fmean(samples_ms), 1),
    }


class RestConversation:
    def __init__(self, http: aiohttp.ClientSession, settings: Settings) -> None:
        self.http = http
        self.url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
        self.sender = f"bench-{secrets.token_hex(8)}"

    async def say(self, text: str) -> tuple[float, list[dict]]:
        started = time.perf_counter()
        async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as response:
            response.raise_for_status()
            replies = await response.json()
        return (time.perf_counter() - started) * 1000, replies


async def verified_conversation(http: aiohttp.ClientSession, settings: Settings, turns: int) -> list[float]:
    conversation = RestConversation(http, settings)
    for text in VERIFY_SCRIPT:
        _, replies = await conversation.say(text)
    if not any("kr" in reply.get("text", "") for reply in replies):
        raise RuntimeError("the scripted verification did not produce a balance; is the demo data loaded?")
    latencies = []
    for _ in range(turns):
        elapsed, replies = await conversation.say(BALANCE_QUESTION)
        if not replies:
            raise RuntimeError("no reply to the balance question")
        latencies.append(elapsed)
    return latencies


def holdout_sentences(limit: int = 200) -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(REPO_ROOT / "tests" / "nlu" / "holdout.yml")).training_examples
    return [example.get("text") for example in examples][:limit]


async def nlu_parse_latency(http: aiohttp.ClientSession, settings: Settings) -> list[float]:
    """Rasa's own NLU parse of the held-out sentences, one at a time."""
    url = f"http://{settings.host}:{settings.rasa_port}/model/parse?token={settings.rasa_api_token}"
    latencies = []
    for text in holdout_sentences():
        started = time.perf_counter()
        async with http.post(url, json={"text": text}) as response:
            response.raise_for_status()
            await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def memory_by_process(stack: Stack) -> dict[str, float]:
    memory = {}
    for service in stack.services:
        process = psutil.Process(service.process.pid)
        family = [process, *process.children(recursive=True)]
        memory[service.name] = round(sum(p.memory_info().rss for p in family) / 2**20, 1)
    return memory


async def measure(settings: Settings, turns: int, concurrency: int) -> dict:
    stack = Stack(settings, quiet=True)
    await stack.start()
    try:
        startup_seconds = await stack.wait_healthy()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            await verified_conversation(http, settings, 3)  # warm-up: first-call costs are not the hot path
            parse = await nlu_parse_latency(http, settings)
            sequential = await verified_conversation(http, settings, turns)
            started = time.perf_counter()
            parallel = await asyncio.gather(
                *(verified_conversation(http, settings, turns) for _ in range(concurrency))
            )
            wall = time.perf_counter() - started
        concurrent = [sample for run in parallel for sample in run]
        return {
            "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version()},
            "startup_to_healthy_s": round(startup_seconds, 1),
            "nlu_parse": summary(parse),
            "verified_balance_turn_sequential": summary(sequential),
            "verified_balance_turn_concurrent": {
                **summary(concurrent),
                "conversations": concurrency,
                # Includes each conversation's verification turns, so it is a lower bound.
                "throughput_turns_per_s": round((len(concurrent) + concurrency * len(VERIFY_SCRIPT)) / wall, 1),
            },
            "resident_memory_mb": memory_by_process(stack),
        }
    finally:
        await stack.stop()


def main(args: argparse.Namespace) -> int:
    settings = setup()
    results = asyncio.run(measure(settings, args.turns, args.concurrency))
    output = REPO_ROOT / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {output.relative_to(REPO_ROOT)}")
    return 0
