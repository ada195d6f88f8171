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
- Every custom action call sent the whole session's events; `bot.action_payload` sends the
  history actions read (bounded), and the per-turn bookkeeping actions (actions/turn.py) run in
  this process (`bot.in_process_actions`) without Rasa's replay of the session before them.
- Every action prediction replays the whole session to work out the policies' states of its
  history, so a turn cost more the longer the conversation; `bot.tracker_states` replays only
  the events added since (the same states, checked against Rasa's own in tests).
- BLAS runs on one thread. The NLU models multiply one message's vectors at a time, far too
  little work to share, while OpenBLAS's idle threads spin on the cores the e5 embedding needs:
  one thread took about 1.5 ms off every parse here. An explicit `OPENBLAS_NUM_THREADS` wins.

And what it adds around Rasa:
- The API token is read from `RASA_API_TOKEN` in the environment, never from the command line
  (which `ps` shows to every user of the machine).
- `GET /health` answers 200 without a token once the model is loaded (503 before): the runner's
  check that the process can serve. `/health/live`, `/health/ready` and `/metrics` are in
  bot.dialogue_operations.
- A custom action that gets no answer from the action server within `ACTION_TIMEOUT_SECONDS`
  (Rasa waits up to 5 minutes) ends the turn with `utter_assistant_unavailable`, so the debtor
  hears within seconds that something is wrong instead of waiting in silence.
- Log records carry no message text, whoever writes them (bot.logs).
- A tracker-store outage fails the turn, and the channel apologises (the message was not kept),
  instead of Rasa's fallback to memory, which answered as if the conversation were new and lost
  the message when the process ended.
- In a conversation a caseworker has taken (paused by the backoffice), each debtor message is
  forwarded to the caseworker's console (bot.caseworker_relay); Rasa itself keeps the assistant
  silent and the message in the tracker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Text, Type

import jsonschema
import rasa.core.processor
import rasa.core.run
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, FollowupAction
from rasa.shared.exceptions import RasaException
from sanic import Sanic, response
from sanic.request import Request

from actions.case_system_client import CaseSystemClient
from bot import (
    action_payload,
    applied_events,
    dialogue_operations,
    in_process_actions,
    rule_policy_history,
    tracker_copies,
)
from bot.caseworker_relay import CaseworkerRelay
from bot.config import load_settings
from bot.graph_runner import SequentialGraphRunner
from bot.logs import configure_rasa_logging, route_library_loggers
from bot.tracker_states import install as remember_dialogue_states

log = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_assistant_unavailable"
MAX_REQUEST_BYTES = 1024 * 1024
GRACEFUL_SHUTDOWN_SECONDS = 8.0


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


_run_remote_action = RemoteAction.run
# After the action server failed to answer, calls for this long get a short time limit instead
# of the full one: a turn may run several custom actions, and a server that has recovered
# answers well within it.
DOUBTFUL_SECONDS = 10.0
PROBE_SECONDS = 1.0
_action_server_doubtful_until = 0.0


def with_time_limit(seconds: float, agency_phone: str):
    """RemoteAction.run, ending the turn with an apology when the action server does not answer
    in `seconds` or cannot be reached. A rejection (a form's validation) passes through as it is."""

    async def run(self: RemoteAction, output_channel, nlg, tracker, domain) -> List[Event]:
        global _action_server_doubtful_until
        doubtful = time.monotonic() < _action_server_doubtful_until
        try:
            limit = min(seconds, PROBE_SECONDS) if doubtful else seconds
            return await asyncio.wait_for(_run_remote_action(self, output_channel, nlg, tracker, domain), limit)
        except ActionExecutionRejection:
            raise
        except (asyncio.TimeoutError, RasaException) as error:
            _action_server_doubtful_until = time.monotonic() + DOUBTFUL_SECONDS
            log.warning(
                "custom action not run: the action server did not answer",
                extra={"fields": {"action": self.name(), "error": type(error).__name__}},
            )
        events: List[Event] = []
        if not _apologised_lately(tracker):
            apology = await nlg.generate(
                UNAVAILABLE_RESPONSE, tracker, output_channel.name(), agency_phone=agency_phone
            )
            if apology:
                events.append(create_bot_utterance({**apology, "utter_action": UNAVAILABLE_RESPONSE}))
        # The turn ends here: the policies would otherwise go on as if the action had run.
        return events + [FollowupAction("action_listen")]

    return run


def _apologised_lately(tracker) -> bool:
    """Whether this turn (or the session start before it) already said the apology."""
    since = time.time() - DOUBTFUL_SECONDS
    for event in reversed(tracker.events):
        if event.timestamp < since:
            return False
        if isinstance(event, BotUttered) and event.metadata.get("utter_action") == UNAVAILABLE_RESPONSE:
            return True
    return False


async def health(request: Request) -> response.HTTPResponse:
    agent = getattr(request.app.ctx, "agent", None)
    ready = agent is not None and agent.is_ready()
    return response.json({"status": "ok" if ready else "loading"}, status=200 if ready else 503)


_configure_app = rasa.core.run.configure_app


def configure_app(*args: Any, **kwargs: Any) -> Sanic:
    app = _configure_app(*args, **kwargs)
    app.add_route(health, "/health", methods=["GET"], name="debtbot_health")
    dialogue_operations.add_routes(app, load_settings().metrics_token)  # /health/live, /health/ready, /metrics
    # Messages far over any channel's limit are refused before they are read (413).
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    # On SIGTERM Sanic stops listening and waits this long for the requests under way; within the
    # runner's 10 s before a kill (Kubernetes gives 30 s), so a stop is never a kill.
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_SECONDS
    route_library_loggers()  # Sanic gave its loggers handlers of their own when it made the app
    return app


def failing_loudly_on_store_errors() -> None:
    """Rasa's FailSafeTrackerStore answers a tracker-store outage from memory: a failed read gives
    an empty conversation, a failed save keeps the turn in this process only. The debtor is
    answered as a stranger and the message is gone for good when the process ends. A turn now
    fails instead, and the channel apologises: the message was not kept, and trying again works
    once the database is back."""

    async def save(self: FailSafeTrackerStore, tracker: Any) -> None:
        await self._tracker_store.save(tracker)

    async def retrieve(self: FailSafeTrackerStore, sender_id: Text) -> Any:
        return await self._tracker_store.retrieve(sender_id)

    async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: Text) -> Any:
        return await self._tracker_store.retrieve_full_tracker(sender_id)

    FailSafeTrackerStore.save = save
    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker


_run_prediction_loop = rasa.core.processor.MessageProcessor._run_prediction_loop


def forwarding_while_paused(relay: CaseworkerRelay):
    async def run_prediction_loop(self, output_channel, tracker) -> None:
        if tracker.is_paused() and relay.forward(tracker):
            # The message is answered by a person: the dialogue listens again, so that when the
            # conversation is handed back the policies do not take it for a turn still to answer.
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        return await _run_prediction_loop(self, output_channel, tracker)

    return run_prediction_loop


def rasa_arguments(argv: List[str], environ: Mapping[str, str]) -> List[str]:
    """Rasa's command line: `argv`, with the API token from RASA_API_TOKEN when the API is on."""
    token = environ.get("RASA_API_TOKEN", "")
    if token and "--enable-api" in argv and not any(arg.startswith("--auth-token") for arg in argv):
        # One argument with "=": a generated token may start with "-".
        return [*argv, f"--auth-token={token}"]
    return list(argv)


def install() -> None:
    settings = load_settings()
    RemoteAction._validate_action_result = validate_action_result
    failing_loudly_on_store_errors()  # a database outage fails the turn instead of forgetting it
    RemoteAction.run = with_time_limit(settings.action_timeout_seconds, settings.agency_phone)
    action_payload.install()  # custom actions get the history they read, not the whole session
    in_process_actions.install()  # the per-turn bookkeeping actions run here, not over HTTP
    tracker_copies.install()  # copies of a tracker from its state, not by replaying the session
    applied_events.install()  # a tracker's applied events: the new events folded onto the last call's
    Event.resolve_by_type = staticmethod(resolve_event_class)
    Domain.is_empty = domain_is_empty
    remember_dialogue_states()  # policies' states of the history: new events only (bot.tracker_states)
    rule_policy_history.install()  # RulePolicy walks a history only as far back as its rules reach
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # the runner the agent loads a model with
    rasa.core.run.configure_app = configure_app
    dialogue_operations.count_turns()
    relay = CaseworkerRelay(CaseSystemClient.from_settings(settings))
    rasa.core.processor.MessageProcessor._run_prediction_loop = forwarding_while_paused(relay)
    configure_rasa_logging()
    limit_blas_threads()


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *rasa_arguments(sys.argv[1:], os.environ)]
    rasa_main()


if __name__ == "__main__":
    main()
