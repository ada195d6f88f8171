"""`debtbot nlu-eval` (`make nlu-eval`): how well the assistant understands debtors.

Runs 5-fold cross-validation of the NLU pipeline in config.yml over data/nlu, and the trained
model over the held-out file tests/nlu/holdout.yml (sentences that are not in the training
data). Prints intent macro F1, per-intent F1, the worst confusions and entity F1, and writes
the reports to results/nlu/.
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


async def holdout(output: Path) -> dict[str, Any]:
    from rasa.model_testing import test_nlu

    settings = load_settings()
    train_model(settings)
    await test_nlu(str(model_path(settings)), str(HOLDOUT), str(output), {"errors": True, "disable_plotting": True})
    report = json.loads((output / "intent_report.json").read_text())
    errors_file = output / "intent_errors.json"
    errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
    return {
        **intent_summary(report),
        "sentences": report["weighted avg"]["support"],
        "worst_confusions": worst_confusions(errors),
    }


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
    results = {
        "cross_validation": asyncio.run(cross_validation(args.folds, RESULTS / "cross_validation")),
        "holdout": asyncio.run(holdout(RESULTS / "holdout")),
    }
    print_section(f"{args.folds}-fold cross-validation over data/nlu", results["cross_validation"])
    print_section(f"held-out file {HOLDOUT.relative_to(REPO_ROOT)}", results["holdout"])
    (RESULTS / "summary.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {(RESULTS / 'summary.json').relative_to(REPO_ROOT)}")
    return 0
