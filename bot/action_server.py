"""The action server process: rasa_sdk's app on the configured interface, behind a shared token.

The action server acts with the case system's API key, so whoever can call it can read cases.
It therefore listens on `DEBTBOT_HOST` (loopback by default) and refuses every request that does
not carry `ACTION_SERVER_TOKEN`, which the dialogue server sends (endpoints.yml, `token`), whatever
the path's spelling (`/webhook/`, `//webhook`, an unknown path): the health check alone is open.
The check runs before routing, so an unknown path answers 404 only to a caller with the token.
"""

from __future__ import annotations

import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.request import Request

from actions import services
from bot.config import Settings, load_settings
from bot.logs import configure_logging

logger = logging.getLogger(__name__)

OPEN_PATHS = {"/health", "/health/"}  # rasa_sdk's health check: says only that the process is up


def is_open(method: str, path: str) -> bool:
    """Whether a request may pass without the token: a GET of the health check, nothing else."""
    return method in {"GET", "HEAD"} and path in OPEN_PATHS


def token_valid(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str, so both sides are compared as UTF-8 bytes.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def create_action_server(settings: Settings) -> Sanic:
    app = create_app("actions", cors_origins=None)

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
