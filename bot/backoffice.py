"""The backoffice process: the reference case system's API, the debtor web chat page at `/`, the
caseworker console at `/console`, the SMS outbox delivery loop, and health checks and metrics."""

from __future__ import annotations

from aiohttp import web

from bot import agency_scheduler, console, outbound_sms
from bot import web as web_chat
from bot.case_system.http import operations
from bot.case_system.http.app import create_app
from bot.config import Settings, load_settings
from bot.logs import configure_logging


def create_backoffice(settings: Settings) -> web.Application:
    app = create_app(settings)
    operations.add_routes(app)  # /health/live, /health/ready, /metrics
    web_chat.add_routes(app, settings)
    console.add_routes(app, settings)
    outbound_sms.attach(app, settings)
    agency_scheduler.attach(app, settings)
    return app


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    web.run_app(
        create_backoffice(settings),
        host=settings.host,
        port=settings.backoffice_port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
