"""The caseworker console at `/console`, served by the backoffice: login, the live queue of
handoffs, a conversation with its case beside it, replies on the debtor's channel, back to the
assistant, resolve, quick actions, and the queue of privacy (rights) requests.

Server-rendered HTML (Jinja2, autoescaped) with a little vanilla JavaScript for live updates
(server-sent events at `/console/events`) and replies without a reload; every form also works
without JavaScript. Pages are in Bokmål with an English switch. Every page showing a debtor's data
is audited with the caseworker's identity; log lines name routes and ids only.

The console calls the case system's own use cases (`HandoffDesk`, the case and rights-request
services) in-process, the same functions the API routes call.
"""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings


def add_routes(app: web.Application, settings: Settings) -> None:
    from bot.console import dashboard, views

    views.add_routes(app, settings)
    dashboard.add_routes(app)
