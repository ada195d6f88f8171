"""The Rasa project itself: its data validates strictly, and the test stories pass on the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import REPO_ROOT, load_settings
from bot.provisioning import model_path, rasa_environment, train_model


def rasa(*arguments: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *arguments],
        cwd=cwd,
        env=rasa_environment(load_settings()),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def model() -> Path:
    settings = load_settings()
    train_model(settings)  # nothing to do when the model is current
    return model_path(settings)


def test_training_data_and_domain_validate_with_warnings_as_errors() -> None:
    result = rasa(
        "data", "validate", "--fail-on-warnings", "--domain", "domain", "--data", "data", "--config", "config.yml"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_test_stories_pass(model: Path, tmp_path: Path) -> None:
    result = rasa(
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        "tests/stories",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, details
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["accuracy"] == 1.0
