"""Rasa's stock `rasa init` bot, run beside ours by `debtbot bench` as the yardstick for ratios.

The project is the template inside the installed rasa package (rasa/cli/initial_project),
copied to var/stock-bot and trained once; the model is kept there and trained again only when
it is missing. It runs as a plain `rasa run` with its own (empty) endpoints: an in-memory tracker
store, no action server (its plain turns, "hello" -> utter_greet, need none), telemetry off.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import rasa

from bot.config import VAR_DIR
from bot.runner import Service

TEMPLATE = Path(rasa.__file__).resolve().parent / "cli" / "initial_project"
STOCK_DIR = VAR_DIR / "stock-bot"
MODEL_NAME = "stock"


def model_file(project: Path = STOCK_DIR) -> Path:
    return project / "models" / f"{MODEL_NAME}.tar.gz"


def prepare(project: Path = STOCK_DIR, log_file: Path = VAR_DIR / "log" / "stock-bot-train.log") -> Path:
    """The stock bot's trained model: copies the template and trains it when there is no model."""
    if model_file(project).exists():
        return model_file(project)
    if not project.exists():
        shutil.copytree(TEMPLATE, project)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"bench: training Rasa's stock `rasa init` bot once (log in {log_file})", flush=True)
    # Trained into a directory of its own and moved into place: a training stopped half-way
    # leaves no model that looks finished.
    staging = project / "models-training"
    shutil.rmtree(staging, ignore_errors=True)
    with log_file.open("ab") as log:
        subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--fixed-model-name", MODEL_NAME, "--out", str(staging)],
            cwd=project,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    model_file(project).parent.mkdir(exist_ok=True)
    (staging / f"{MODEL_NAME}.tar.gz").replace(model_file(project))
    shutil.rmtree(staging, ignore_errors=True)
    return model_file(project)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stock_service(host: str, port: int, project: Path = STOCK_DIR) -> Service:
    """`rasa run` of the stock model with its own endpoints and credentials (not ours)."""
    return Service(
        "stock-bot",
        [
            sys.executable,
            "-m",
            "rasa",
            "run",
            "--model",
            str(model_file(project)),
            "--enable-api",
            "--interface",
            host,
            "--port",
            str(port),
            "--endpoints",
            str(project / "endpoints.yml"),
            "--credentials",
            str(project / "credentials.yml"),
        ],
        # 200 once the model is loaded (409 before); open, as the stock bot has no token.
        f"http://{host}:{port}/status",
    )
