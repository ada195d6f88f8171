"""The action server process: rasa_sdk's app on the configured interface, behind a shared token.

The action server acts with the case system's API key, so whoever can call it can read cases.
It therefore listens on `DEBTBOT_HOST` (loopback by default) and refuses webhook calls that do
not carry `ACTION_SERVER_TOKEN`, which the dialogue server sends (endpoints.yml, `token`).
"""

from __future__ import annotations

import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from actions import services
from bot.config import Settings, load_settings
from bot.logs import configure_logging

logger = logging.getLogger(__name__)


def create_action_server(settings: Settings) -> Sanic:
    app = create_app("actions", cors_origins=None)

    @app.on_request
    async def require_token(request: Request):
        if request.path != "/webhook":
            return None
        given = request.args.get("token", "")
        if settings.action_server_token and hmac.compare_digest(given, settings.action_server_token):
            return None
        logger.warning("action call refused: missing or wrong token")
        return response.json({"error": "unauthorized"}, status=401)

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
