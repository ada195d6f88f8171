"""The sequential graph runner gives the trained model's parses and predictions exactly as Rasa's."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine import loader
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import load_settings
from bot.graph_runner import SequentialGraphRunner
from bot.provisioning import model_path, train_model

MESSAGES = [
    "hei",
    "hvor mye skylder jeg?",
    "kan eg betale 500 kr i månaden over eit år",
    "what do you do with my data",
    "",
]


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory):
    settings = load_settings()
    train_model(settings)  # nothing to do when the model is current
    loaded = {}
    for runner_class in (DaskGraphRunner, SequentialGraphRunner):
        directory = tmp_path_factory.mktemp(runner_class.__name__)
        loaded[runner_class] = loader.load_predict_graph_runner(
            Path(directory), model_path(settings), LocalModelStorage, runner_class
        )
    return loaded


def parse(runner, metadata, text: str) -> dict:
    tracker = DialogueStateTracker.from_events("test", [])
    results = runner.run(
        inputs={PLACEHOLDER_MESSAGE: [UserMessage(text)], PLACEHOLDER_TRACKER: tracker},
        targets=[metadata.nlu_target],
    )
    return results[metadata.nlu_target][0].as_dict(only_output_properties=True)


@pytest.mark.parametrize("text", MESSAGES)
def test_a_parse_is_the_same_as_with_rasas_runner(runners, text: str) -> None:
    (dask_metadata, dask_runner), (metadata, runner) = runners[DaskGraphRunner], runners[SequentialGraphRunner]
    assert parse(runner, metadata, text) == parse(dask_runner, dask_metadata, text)


def test_the_next_action_is_predicted_as_with_rasas_runner(runners) -> None:
    (dask_metadata, dask_runner), (metadata, runner) = runners[DaskGraphRunner], runners[SequentialGraphRunner]
    tracker = DialogueStateTracker.from_events(
        "test",
        [
            ActionExecuted("action_session_start"),
            ActionExecuted("action_listen"),
            UserUttered("hei", {"name": "greet", "confidence": 1.0}),
        ],
    )
    ours = runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[metadata.core_target])[metadata.core_target]
    theirs = dask_runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[dask_metadata.core_target])[
        dask_metadata.core_target
    ]
    assert (ours.policy_name, list(ours.probabilities)) == (theirs.policy_name, list(theirs.probabilities))
    assert max(ours.probabilities) > 0


def test_an_input_named_like_a_node_is_refused_as_rasa_refuses_it(runners) -> None:
    metadata, runner = runners[SequentialGraphRunner]
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run(inputs={"anything": metadata.nlu_target}, targets=[metadata.nlu_target])
