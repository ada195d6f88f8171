"""The dialogue server process: Rasa's own `rasa run`, with fixes on its hot path.

- Rasa 3.6 checks every action server response with `jsonschema.validate`, which first validates
  the (constant) schema itself against the JSON Schema meta-schema: about 65 ms per custom action
  on this machine, more than the rest of a turn together. The validator is now compiled once;
  the check, its errors and its message are as they were.
- Every event read from or written to the tracker store looks its class up by walking all
  subclasses of `Event` (dozens of events per turn). The lookup is now remembered per type name;
  the classes cannot change once imported.
- Every parse and every action prediction runs the model's graph through dask, which rebuilds
  and orders the graph on each call; `bot.graph_runner` calls the same nodes in an order it
  works out once (about 0.5 ms of each parse).
- Every parse asks whether the domain is empty by building a new empty domain to compare with
  (about 0.3 ms); the empty domain's contents are now built once.
- BLAS runs on one thread. The NLU models multiply one message's vectors at a time, far too
  little work to share, while OpenBLAS's idle threads spin on the cores the e5 embedding needs:
  one thread took about 1.5 ms off every parse here. An explicit `OPENBLAS_NUM_THREADS` wins.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any, Dict, Optional, Text, Type

import jsonschema
import rasa.core.processor
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event

from bot.graph_runner import SequentialGraphRunner


@lru_cache(maxsize=1)
def action_result_validator() -> jsonschema.protocols.Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error = jsonschema.exceptions.best_match(action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from "
            f"the Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_event_classes: Dict[Text, Type[Event]] = {}
_resolve_event_class = Event.resolve_by_type


def resolve_event_class(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    if type_name not in _event_classes:
        found = _resolve_event_class(type_name, default)
        if found is None or found is default:
            return found  # unknown names keep Rasa's behaviour, uncached
        _event_classes[type_name] = found
    return _event_classes[type_name]


@lru_cache(maxsize=1)
def empty_domain_contents() -> Dict[Text, Any]:
    return Domain.empty().as_dict()


def domain_is_empty(self: Domain) -> bool:
    return self.as_dict() == empty_domain_contents()


def limit_blas_threads() -> None:
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    # Loads scipy's own OpenBLAS beside numpy's, so that the limit reaches both.
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_class)
    Domain.is_empty = domain_is_empty
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # the runner the agent loads a model with
    limit_blas_threads()


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
