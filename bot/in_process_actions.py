"""The per-turn bookkeeping actions, run inside the dialogue server instead of over HTTP.

Every turn Rasa runs two custom actions before the policies answer (actions/turn.py): the
`language` slot's custom mapping `action_detect_language`, and `action_validate_slot_mappings`.
Both read only the latest message and a few slots, and call nothing outside; over HTTP each cost
a round trip to the action server with the tracker serialised and parsed. Here the very same
rasa_sdk actions run in this process through rasa_sdk's own executor, on the payload Rasa would
have sent (bot.action_payload), and their answer goes through Rasa's own checks and event
handling as an action server's would: a failure is handled as the action server failing.

Before calling `action_validate_slot_mappings`, Rasa also replays the whole session into a new
tracker only to add the slot candidates to it (ActionExtractSlots._execute_validation_action);
`bot.tracker_copies.copy_with_events` gives the same tracker by copying the current state instead.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, cast

from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.shared.core.constants import ACTION_VALIDATE_SLOT_MAPPINGS
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.exceptions import RasaException
from rasa_sdk.executor import ActionExecutor

from actions.turn import ActionDetectLanguage, ValidateSlotMappings
from bot.action_domain import DomainOnDemand
from bot.tracker_copies import copy_with_events

log = logging.getLogger(__name__)
rasa_execute_validation_action = ActionExtractSlots._execute_validation_action  # Rasa's own, for tests


def executor() -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_action(ActionDetectLanguage())
    executor.register_action(ValidateSlotMappings())
    return executor


class InProcessEndpoint:
    """Stands in for the action endpoint of one call: `request` runs the action here. The payload
    is the dict Rasa built for this call only; the domain dict is Rasa's own and only read."""

    def __init__(self, endpoint: Any, actions: ActionExecutor, domain: Domain) -> None:
        self.kwargs = getattr(endpoint, "kwargs", {}) or {}
        self.url = getattr(endpoint, "url", None)
        self._actions = actions
        self._domain = domain

    async def request(self, *, json: Dict[Text, Any], **_: Any) -> Optional[Dict[Text, Any]]:
        try:
            return await self._actions.run({**json, "domain": self._domain.as_dict()})
        except Exception as error:  # as the action server failing: Rasa's (and our) handling
            log.warning(
                "in-process action failed",
                extra={"fields": {"action": json.get("next_action"), "error": type(error).__name__}},
            )
            raise RasaException(f"Custom action '{json.get('next_action')}' failed") from error


def running_in_process(run, actions: ActionExecutor):
    """RemoteAction.run: the bookkeeping actions here, the others on the action server with the
    domain sent only when it asks for it (bot.action_domain)."""

    async def run_action(self: RemoteAction, output_channel, nlg, tracker, domain) -> List[Event]:
        if self._name in actions.actions:
            self.action_endpoint = InProcessEndpoint(self.action_endpoint, actions, domain)
        elif self.action_endpoint is not None:
            self.action_endpoint = DomainOnDemand(self.action_endpoint, domain)
        return await run(self, output_channel, nlg, tracker, domain)

    return run_action


async def execute_validation_action(
    self: ActionExtractSlots, extraction_events, output_channel, nlg, tracker, domain
) -> List[Event]:
    """ActionExtractSlots._execute_validation_action with `copy_with_events` for the replay;
    otherwise Rasa's own."""
    slot_events: List[SlotSet] = [event for event in extraction_events if isinstance(event, SlotSet)]
    if ACTION_VALIDATE_SLOT_MAPPINGS not in domain.user_actions:
        return cast(List[Event], slot_events)
    _tracker = copy_with_events(tracker, cast(List[Event], slot_events), domain)
    validate_events = await self._run_custom_action(
        ACTION_VALIDATE_SLOT_MAPPINGS, output_channel, nlg, _tracker, domain
    )
    validated = {event.key for event in validate_events if isinstance(event, SlotSet)}
    return validate_events + [event for event in slot_events if event.key not in validated]


def install() -> None:
    RemoteAction.run = running_in_process(RemoteAction.run, executor())
    ActionExtractSlots._execute_validation_action = execute_validation_action
