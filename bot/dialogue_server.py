"""The dialogue server process: Rasa's own `rasa run`, with two fixes on its hot path.

- Rasa 3.6 checks every action server response with `jsonschema.validate`, which first validates
  the (constant) schema itself against the JSON Schema meta-schema: about 65 ms per custom action
  on this machine, more than the rest of a turn together. The validator is now compiled once;
  the check, its errors and its message are as they were.
- Every event read from or written to the tracker store looks its class up by walking all
  subclasses of `Event` (dozens of events per turn). The lookup is now remembered per type name;
  the classes cannot change once imported.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Dict, Optional, Text, Type

import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event


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


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_class)


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
