"""The runner's commands survive any token the setup may generate."""

from __future__ import annotations

import argparse
from pathlib import Path

from rasa.cli.arguments.run import add_server_arguments

from bot.config import load_settings
from bot.runner import stack_services


def test_a_token_that_starts_with_a_dash_reaches_rasa_intact(tmp_path: Path) -> None:
    settings = load_settings(env={"RASA_API_TOKEN": "-8oqfnWgn_vrki2NG4DtiA"}, env_file=tmp_path / "none")
    dialogue = next(service for service in stack_services(settings) if service.name == "dialogue")
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    arguments, _ = parser.parse_known_args(dialogue.command[dialogue.command.index("run") + 1 :])
    assert arguments.auth_token == "-8oqfnWgn_vrki2NG4DtiA"
    assert arguments.enable_api is True
