"""The case-system API as an aiohttp application: middlewares, the route table, start-up.

Each request under `/api/v1` gets one database session; nothing is committed when a request is
rejected (the one exception: a malformed identity factor is audited as `rejected_input`).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from typing import Optional

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.case_system.domain.clock import utc_now
from bot.case_system.domain.conversation_relay import ConversationRelay
from bot.case_system.domain.handoff_desk import HandoffDesk
from bot.case_system.domain.handoff_webhook import HandoffWebhook
from bot.case_system.domain.interest import RateTable, load_default_rate_table
from bot.case_system.domain.opening_hours import parse_hours
from bot.case_system.http import console_sessions, middlewares, openapi_document
from bot.case_system.http.context import CASE_SYSTEM, CaseSystem, Clock
from bot.case_system.http.json_io import MAX_BODY_BYTES
from bot.case_system.http.routes import ENDPOINTS
from bot.case_system.http.routes.sms import OUTBOX_SIGNAL
from bot.case_system.store import database
from bot.case_system.store.live_events import live_events_for
from bot.config import Settings


def create_app(
    settings: Settings,
    *,
    engine: Optional[AsyncEngine] = None,
    clock: Optional[Clock] = None,
    rates: Optional[RateTable] = None,
) -> web.Application:
    """The case-system API as an aiohttp application.

    `engine` lets a caller share (and dispose of) its own engine; otherwise the app creates one on
    startup and disposes of it on cleanup. `clock` returns the current aware UTC time (tests move
    it instead of sleeping); `rates` replaces the default interest-rate table.
    Middlewares only act on paths under `/api/v1`, so other routes can live in the same app.
    """
    public = [endpoint.name for endpoint in ENDPOINTS if endpoint.public]
    for_caseworkers = [endpoint.name for endpoint in ENDPOINTS if endpoint.caseworker]
    app = web.Application(
        middlewares=[
            console_sessions.middleware(settings),
            middlewares.log_requests,
            middlewares.json_errors,
            middlewares.require_bearer_token(public, for_caseworkers),
            middlewares.request_session,
            middlewares.caseworker_access(for_caseworkers),
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CASE_SYSTEM] = CaseSystem(settings=settings, clock=clock or utc_now, rates=rates)
    app[openapi_document.API_DOCUMENT] = openapi_document.build(ENDPOINTS)
    app.cleanup_ctx.append(functools.partial(_database, engine=engine))
    app.router.add_routes([endpoint.route() for endpoint in ENDPOINTS])
    return app


async def _database(app: web.Application, *, engine: Optional[AsyncEngine]):
    system = app[CASE_SYSTEM]
    system.engine = engine if engine is not None else database.create_engine(system.settings)
    system.sessions = database.session_factory(system.engine)
    if system.rates is None:
        # Reading the rate file blocks; do it once, off the event loop, before serving.
        system.rates = await asyncio.get_running_loop().run_in_executor(None, load_default_rate_table)
    settings = system.settings

    def wake_outbox() -> None:
        signal = app.get(OUTBOX_SIGNAL)
        if signal is not None:
            signal.set()

    system.desk = HandoffDesk(
        relay=ConversationRelay(settings.dialogue_server_url, settings.rasa_api_token),
        events=live_events_for(system.engine, settings.database_url),
        webhook=HandoffWebhook(settings.handoff_webhook_url, settings.handoff_webhook_secret),
        hours=parse_hours(settings.caseworker_hours),
        sla=timedelta(minutes=settings.handoff_sla_minutes),
        wake_outbox=wake_outbox,
    )
    await system.desk.events.start()
    yield
    await system.desk.events.stop()
    await system.desk.webhook.drain()
    await system.desk.relay.close()
    if engine is None:
        await system.engine.dispose()
