"""The action server process: rasa_sdk's app on the configured interface, behind a shared token.

The action server acts with the case system's API key, so whoever can call it can read cases.
It therefore listens on `DEBTBOT_HOST` (loopback by default) and refuses every request that does
not carry `ACTION_SERVER_TOKEN`, which the dialogue server sends (endpoints.yml, `token`), whatever
the path's spelling (`/webhook/`, `//webhook`, an unknown path): the health checks alone are open,
and `/metrics`, which asks for its own token (bot.metrics). The check runs before routing, so an
unknown path answers 404 only to a caller with the token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.request import Request

from actions import services
from bot import metrics
from bot.action_domain import DOMAIN_UNKNOWN, DOMAIN_UNKNOWN_STATUS, DomainUnknown, KnownDomains
from bot.config import Settings, load_settings
from bot.logs import configure_logging

logger = logging.getLogger(__name__)

# rasa_sdk's health check and ours: they say only whether the process is up and can serve.
OPEN_PATHS = {"/health", "/health/", "/health/live", "/health/ready", "/metrics"}
READY_CHECK_SECONDS = 2.0


def is_open(method: str, path: str) -> bool:
    """Whether a request may pass without the token: a GET of the health check, nothing else."""
    return method in {"GET", "HEAD"} and path in OPEN_PATHS


def token_valid(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str, so both sides are compared as UTF-8 bytes.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def counting_runs(run):
    """ActionExecutor.run, counted and timed per action (the action's name is not personal data)."""

    async def counted(self: ActionExecutor, action_call: dict):
        name = str(action_call.get("next_action") or "none")
        started = time.perf_counter()
        outcome = "error"
        try:
            answer = await run(self, action_call)
            outcome = "ok"
            return answer
        finally:
            name = name if name in self.actions else "unknown"
            metrics.ACTIONS.labels(name, outcome).inc()
            metrics.ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)

    counted.counts_runs = True
    return counted


def completing_domains(run, domains: KnownDomains):
    """ActionExecutor.run, with the domain a call names by digest (bot.action_domain)."""

    async def completed(self: ActionExecutor, action_call: dict):
        domains.complete(action_call)
        return await run(self, action_call)

    completed.completes_domains = True
    return completed


def add_operations_routes(app: Sanic, settings: Settings) -> None:
    async def live(_request: Request):
        return response.json({"status": "ok"})

    async def ready(_request: Request):
        """Ready when the case system answers within two seconds: every action needs it."""
        try:
            await asyncio.wait_for(services.case_system().health(), READY_CHECK_SECONDS)
            case_system = "ok"
        except Exception as error:  # any failure means "cannot serve"
            logger.warning("readiness: case system unreachable", extra={"error_type": type(error).__name__})
            case_system = "unreachable"
        ok = case_system == "ok"
        body = {"status": "ok" if ok else "unavailable", "checks": {"case_system": case_system}}
        return response.json(body, status=200 if ok else 503)

    async def serve_metrics(request: Request):
        if not metrics.scrape_allowed(request.headers.get("Authorization", ""), settings.metrics_token):
            return response.json({"error": "not found"}, status=404)
        return response.raw(metrics.exposition(), content_type=metrics.CONTENT_TYPE)

    app.add_route(live, "/health/live", methods=["GET"], name="debtbot_health_live")
    app.add_route(ready, "/health/ready", methods=["GET"], name="debtbot_health_ready")
    app.add_route(serve_metrics, "/metrics", methods=["GET"], name="debtbot_metrics")


def create_action_server(settings: Settings) -> Sanic:
    if not getattr(ActionExecutor.run, "counts_runs", False):
        ActionExecutor.run = counting_runs(ActionExecutor.run)
    if not getattr(ActionExecutor.run, "completes_domains", False):
        ActionExecutor.run = completing_domains(ActionExecutor.run, KnownDomains())
    app = create_app("actions", cors_origins=None)
    add_operations_routes(app, settings)

    def ask_for_the_domain(_request: Request, _error: DomainUnknown):
        return response.json(DOMAIN_UNKNOWN, status=DOMAIN_UNKNOWN_STATUS)

    # Sanic resolves the route before it runs request middleware, and answers an unknown path
    # with 404 from there; this handler runs in its place, so the token is checked first.
    def not_found(request: Request, _error: Exception):
        refused = refuse_without_token(request)
        return refused or response.json({"error": "not found"}, status=404)

    def refuse_without_token(request: Request):
        if is_open(request.method, request.path) or token_valid(
            request.args.get("token", ""), settings.action_server_token
        ):
            return None
        logger.warning("action server request refused: missing or wrong token")
        return response.json({"error": "unauthorized"}, status=401)

    app.on_request(refuse_without_token)
    app.error_handler.add(NotFound, not_found)
    app.error_handler.add(MethodNotSupported, not_found)
    app.error_handler.add(DomainUnknown, ask_for_the_domain)

    @app.after_server_stop
    async def close_connections(*_):
        await services.close()

    return app


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_action_server(settings)
    app.run(host=settings.host, port=settings.action_server_port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
