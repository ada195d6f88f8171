"""The dialogue server's operational side: liveness, readiness and Prometheus metrics.

- `GET /health/live`: the process is up (no token).
- `GET /health/ready`: it can serve: the model is loaded and the tracker store's database and the
  lock store (Redis, when configured) answer within two seconds (no token). It goes false while a
  dependency is down and true again by itself.
- `GET /metrics`: turns, turn latency, NLU fallbacks and conversations started, per channel
  (bot.metrics; a Bearer METRICS_TOKEN).
The counters come from three of Rasa's MessageProcessor methods, wrapped once at start-up.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import time
from typing import Any, Optional

import sqlalchemy as sa
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted
from sanic import Sanic, response
from sanic.request import Request

from bot import metrics
from bot.lock_store import RedisTicketLocks

logger = logging.getLogger(__name__)

READY_CHECK_SECONDS = 2.0
# The channel of the debtor message being handled, for the counters deeper in the turn.
TURN_CHANNEL: contextvars.ContextVar[str] = contextvars.ContextVar("turn_channel", default="unknown")


def _channel(name: Optional[str]) -> str:
    return name or "unknown"


def count_turns() -> None:
    """Wraps handle_message (turns, latency), parse_message (NLU fallbacks) and the session check
    (conversations started). Idempotent."""
    if getattr(MessageProcessor.handle_message, "counts_turns", False):
        return
    handle_message = MessageProcessor.handle_message
    parse_message = MessageProcessor.parse_message
    update_session = MessageProcessor._update_tracker_session

    async def counted_handle_message(self: MessageProcessor, message: Any):
        channel = _channel(message.input_channel)
        started = time.perf_counter()
        token = TURN_CHANNEL.set(channel)
        try:
            return await handle_message(self, message)
        finally:
            TURN_CHANNEL.reset(token)
            metrics.TURNS.labels(channel).inc()
            metrics.TURN_SECONDS.labels(channel).observe(time.perf_counter() - started)

    async def counted_parse_message(self: MessageProcessor, message: Any, *args: Any, **kwargs: Any):
        parsed = await parse_message(self, message, *args, **kwargs)
        if (parsed.get("intent") or {}).get("name") == DEFAULT_NLU_FALLBACK_INTENT_NAME:
            metrics.NLU_FALLBACKS.labels(_channel(getattr(message, "input_channel", None))).inc()
        return parsed

    async def counted_update_session(self: MessageProcessor, tracker: Any, output_channel: Any, *args: Any, **kw: Any):
        # A session starts when Rasa runs action_session_start here; looking at the events this
        # added costs nothing, where asking Rasa's question again walks the whole session.
        before = len(tracker.events)
        result = await update_session(self, tracker, output_channel, *args, **kw)
        if any(
            isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME
            for event in itertools.islice(tracker.events, before, None)
        ):
            # The message's channel: the output channel of a REST turn is Rasa's collector.
            metrics.CONVERSATIONS.labels(TURN_CHANNEL.get()).inc()
        return result

    counted_handle_message.counts_turns = True
    MessageProcessor.handle_message = counted_handle_message
    MessageProcessor.parse_message = counted_parse_message
    MessageProcessor._update_tracker_session = counted_update_session


def _inner(store: Any) -> Any:
    """Rasa wraps the configured tracker store (FailSafe, Awaitable); the SQL store is inside."""
    for _ in range(4):
        inner = getattr(store, "_tracker_store", None) or getattr(store, "inner_tracker_store", None)
        if inner is None:
            break
        store = inner
    return store


def _ping_database(engine: sa.engine.Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


async def _check(probe, *args: Any) -> str:
    """ "ok" when `probe` (blocking, or a coroutine function) returns in time."""
    try:
        call = probe(*args) if asyncio.iscoroutinefunction(probe) else asyncio.to_thread(probe, *args)
        await asyncio.wait_for(call, READY_CHECK_SECONDS)
        return "ok"
    except Exception as error:  # any failure or timeout means "cannot serve"
        logger.warning("readiness check failed", extra={"error_type": type(error).__name__})
        return "unreachable"


async def readiness(agent: Any) -> dict[str, str]:
    if agent is None or not agent.is_ready():
        return {"model": "loading"}
    checks = {"model": "ok"}
    engine = getattr(_inner(agent.tracker_store), "engine", None)
    if engine is not None:
        checks["tracker_store"] = await _check(_ping_database, engine)
    lock_store = getattr(agent.lock_store, "backend", agent.lock_store)
    if isinstance(lock_store, RedisTicketLocks):
        checks["lock_store"] = await _check(lock_store.ping)
    return checks


def add_routes(app: Sanic, metrics_token: str) -> None:
    async def live(_request: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    async def ready(request: Request) -> response.HTTPResponse:
        checks = await readiness(getattr(request.app.ctx, "agent", None))
        ok = all(value == "ok" for value in checks.values())
        return response.json({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)

    async def serve_metrics(request: Request) -> response.HTTPResponse:
        if not metrics.scrape_allowed(request.headers.get("Authorization", ""), metrics_token):
            return response.json({"error": "not found"}, status=404)
        return response.raw(metrics.exposition(), content_type=metrics.CONTENT_TYPE)

    app.add_route(live, "/health/live", methods=["GET"], name="debtbot_health_live")
    app.add_route(ready, "/health/ready", methods=["GET"], name="debtbot_health_ready")
    app.add_route(serve_metrics, "/metrics", methods=["GET"], name="debtbot_metrics")
