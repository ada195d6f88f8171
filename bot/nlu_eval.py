"""`debtbot nlu-eval` (`make nlu-eval`): how well the assistant understands debtors.

Runs 5-fold cross-validation of the NLU pipeline in config.yml over data/nlu, the trained
model over the held-out file tests/nlu/holdout.yml (sentences that are not in the training
data), and the trained model over the messy debtor messages of tests/nlu/messy.yml. Prints
intent macro F1, per-intent F1, the worst confusions and entity F1, the messy pass rate with
every failure, and writes the reports to results/nlu/. `--skip-cv` leaves out the
cross-validation (minutes) and runs only the two files (seconds once the model is trained).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from bot.config import REPO_ROOT, load_settings
from bot.provisioning import model_path, train_model

HOLDOUT = REPO_ROOT / "tests" / "nlu" / "holdout.yml"
MESSY = REPO_ROOT / "tests" / "nlu" / "messy.yml"
MESSY_TARGET = 0.90
FALLBACK_INTENT = "nlu_fallback"
RESULTS = REPO_ROOT / "results" / "nlu"


def worst_confusions(errors: list[dict[str, Any]], count: int = 8) -> list[tuple[str, str, int]]:
    pairs = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    return [(gold, predicted, n) for (gold, predicted), n in pairs.most_common(count)]


def intent_summary(report: dict[str, Any]) -> dict[str, Any]:
    per_intent = {
        name: round(values["f1-score"], 3)
        for name, values in report.items()
        if isinstance(values, dict) and "f1-score" in values and not name.endswith("avg")
    }
    return {
        "accuracy": round(report["accuracy"], 3),
        "macro_f1": round(report["macro avg"]["f1-score"], 3),
        "per_intent_f1": dict(sorted(per_intent.items(), key=lambda item: item[1])),
    }


async def cross_validation(folds: int, output: Path) -> dict[str, Any]:
    from rasa.nlu.test import cross_validate
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(REPO_ROOT / "data" / "nlu"))
    _, entity_results, topic_results = await cross_validate(
        data, folds, str(REPO_ROOT / "config.yml"), output=str(output), errors=True, disable_plotting=True
    )
    report = json.loads((output / "intent_report.json").read_text())
    errors = json.loads((output / "intent_errors.json").read_text())
    entities = {
        extractor: round(statistics.fmean(metrics["F1-score"]), 3) for extractor, metrics in entity_results.test.items()
    }
    topics = {metric: round(statistics.fmean(values), 3) for metric, values in topic_results.test.items()}
    return {
        **intent_summary(report),
        "entity_f1": entities,
        "privacy_topic": topics,
        "worst_confusions": worst_confusions(errors),
    }


async def holdout(model: Path, output: Path) -> dict[str, Any]:
    from rasa.model_testing import test_nlu

    await test_nlu(str(model), str(HOLDOUT), str(output), {"errors": True, "disable_plotting": True})
    report = json.loads((output / "intent_report.json").read_text())
    errors_file = output / "intent_errors.json"
    errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
    return {
        **intent_summary(report),
        "sentences": report["weighted avg"]["support"],
        "worst_confusions": worst_confusions(errors),
    }


def labelled_messages(path: Path) -> list[tuple[str, str]]:
    """(text, expected intent) of every example in a Rasa NLU file; privacy/<topic> counts as privacy."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [(e.get("text"), e.get("intent")) for e in load_data(str(path)).intent_examples]


def load_agent(model: Path) -> Any:
    """The trained model in this process, for parsing messages (no tracker store, no actions)."""
    from rasa.core.agent import Agent
    from threadpoolctl import threadpool_limits

    agent = Agent.load(str(model))
    # One thread for BLAS and OpenMP (the e5 engine's, loaded with the model, hence after it): on
    # a busy two-core machine an embedding took 0.6-1.4 s with the default threads and 30-60 ms
    # with one (load average 6-10, 6 December 2026).
    threadpool_limits(limits=1)
    return agent


async def read_messages(agent: Any, messages: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """What the assistant makes of each message. A message it would ask to have rephrased (the
    fallback) is read wrong; its top guess is kept to show what it was closest to."""
    readings = []
    for text, expected in messages:
        parsed = await agent.parse_message(text)
        intent = parsed["intent"]
        ranking = [entry for entry in parsed.get("intent_ranking", []) if entry["name"] != FALLBACK_INTENT]
        guess = ranking[0] if ranking else intent
        readings.append(
            {
                "text": text,
                "expected": expected,
                "predicted": intent["name"],
                "confidence": round(intent["confidence"], 2),
                "top_guess": guess["name"],
                "top_confidence": round(guess["confidence"], 2),
            }
        )
    return readings


def pass_rate(readings: list[dict[str, Any]]) -> float:
    return sum(r["predicted"] == r["expected"] for r in readings) / len(readings)


async def messy(agent: Any) -> dict[str, Any]:
    readings = await read_messages(agent, labelled_messages(MESSY))
    return {
        "pass_rate": round(pass_rate(readings), 3),
        "messages": len(readings),
        "target": MESSY_TARGET,
        "failures": [r for r in readings if r["predicted"] != r["expected"]],
    }


def print_messy(results: dict[str, Any]) -> None:
    failures = results["failures"]
    passed = results["messages"] - len(failures)
    print(f"\n== messy messages {MESSY.relative_to(REPO_ROOT)} ==")
    print(f"pass rate {results['pass_rate']} ({passed} of {results['messages']}; target {results['target']})")
    if failures:
        print("failures (expected -> read as, confidence):")
    for failure in failures:
        read_as = f"{failure['predicted']} {failure['confidence']}"
        if failure["predicted"] == FALLBACK_INTENT:
            read_as += f" (top guess {failure['top_guess']} {failure['top_confidence']})"
        print(f"  {failure['expected']} -> {read_as}: {failure['text']}")


def print_section(title: str, results: dict[str, Any]) -> None:
    print(f"\n== {title} ==")
    print(f"intent accuracy {results['accuracy']}, macro F1 {results['macro_f1']}")
    if "entity_f1" in results:
        print("entity F1: " + ", ".join(f"{name} {f1}" for name, f1 in results["entity_f1"].items()))
    if results.get("privacy_topic"):
        topic = results["privacy_topic"]
        print(f"privacy topic (response selection): accuracy {topic.get('Accuracy')}, F1 {topic.get('F1-score')}")
    print(
        "lowest per-intent F1: " + ", ".join(f"{name} {f1}" for name, f1 in list(results["per_intent_f1"].items())[:8])
    )
    print("worst confusions (gold -> predicted, count):")
    for gold, predicted, n in results["worst_confusions"]:
        print(f"  {gold} -> {predicted}: {n}")


def quiet_rasa() -> None:
    """Rasa's own logging in this process: warnings only (its debug lines print every sentence)."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # Rasa draws a progress bar per fold and file
    quiet_rasa()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if not args.skip_cv:
        results["cross_validation"] = asyncio.run(cross_validation(args.folds, RESULTS / "cross_validation"))
    settings = load_settings()
    train_model(settings)  # nothing to do when the model is current
    model = model_path(settings)
    results["holdout"] = asyncio.run(holdout(model, RESULTS / "holdout"))
    results["messy"] = asyncio.run(messy(load_agent(model)))
    if "cross_validation" in results:
        print_section(f"{args.folds}-fold cross-validation over data/nlu", results["cross_validation"])
    print_section(f"held-out file {HOLDOUT.relative_to(REPO_ROOT)}", results["holdout"])
    print_messy(results["messy"])
    (RESULTS / "summary.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {(RESULTS / 'summary.json').relative_to(REPO_ROOT)}")
    return 0
