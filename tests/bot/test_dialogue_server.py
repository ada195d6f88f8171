"""The dialogue server's hot-path fixes keep Rasa's behaviour exactly."""

from __future__ import annotations

import jsonschema
import psutil
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from bot.dialogue_server import resolve_event_class, validate_action_result

VALID = {"events": [{"event": "slot", "name": "verified", "value": True}], "responses": [{"text": "hei"}]}


def test_a_valid_action_response_passes() -> None:
    assert validate_action_result(None, VALID) is True


@pytest.mark.parametrize(
    "response",
    [{"events": "not a list"}, {"events": [{"event": 42}]}, {"responses": "nope"}],
)
def test_an_invalid_action_response_is_rejected_as_rasa_rejects_it(response) -> None:
    with pytest.raises(jsonschema.ValidationError) as ours:
        validate_action_result(None, response)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    assert "Failed to validate Action server response" in ours.value.message


def test_every_event_type_resolves_to_the_same_class_as_in_rasa() -> None:
    for event_class in all_subclasses(Event):
        if event_class.type_name != "event":
            assert resolve_event_class(event_class.type_name) is Event.resolve_by_type(event_class.type_name)


def test_unknown_event_names_behave_as_in_rasa() -> None:
    assert resolve_event_class("topic") is None
    assert resolve_event_class("no-such-event", default=Event) is Event
    with pytest.raises(ValueError):
        resolve_event_class("no-such-event")


def test_the_empty_domain_check_answers_as_rasa_does() -> None:
    from rasa.shared.core.domain import Domain

    from bot.dialogue_server import domain_is_empty

    def rasa_is_empty(domain: Domain) -> bool:  # Rasa 3.6's definition, whatever install() replaced
        return domain.as_dict() == Domain.from_dict({}).as_dict()

    empty, with_intent = Domain.empty(), Domain.from_dict({"intents": ["greet"]})
    assert domain_is_empty(empty) is rasa_is_empty(empty) is True
    assert domain_is_empty(with_intent) is rasa_is_empty(with_intent) is False


def test_blas_runs_on_one_thread_unless_the_operator_says_otherwise(monkeypatch) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from bot.dialogue_server import limit_blas_threads

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with threadpool_limits(limits=None):  # restores the thread counts afterwards
        limit_blas_threads()
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with threadpool_limits(limits=2, user_api="blas"):
        before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        limit_blas_threads()
        assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before
        assert max(before) > 1 or psutil.cpu_count() == 1  # on one core there is nothing to tell apart
