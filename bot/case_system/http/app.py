"""The case-system API as an aiohttp application: middlewares, the route table, start-up.

Each request under `/api/v1` gets one database session; nothing is committed when a request is
rejected (the one exception: a malformed identity factor is audited as `rejected_input`).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Optional

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.case_system.domain.clock import utc_now
from bot.case_system.domain.interest import RateTable, load_default_rate_table
from bot.case_system.http import middlewares, openapi_document
from bot.case_system.http.context import CASE_SYSTEM, CaseSystem, Clock
from bot.case_system.http.json_io import MAX_BODY_BYTES
from bot.case_system.http.routes import ENDPOINTS
from bot.case_system.store import database
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
    app = web.Application(
        middlewares=[
            middlewares.log_requests,
            middlewares.json_errors,
            middlewares.require_bearer_token(endpoint.name for endpoint in ENDPOINTS if endpoint.public),
            middlewares.request_session,
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
    yield
    if engine is None:
        await system.engine.dispose()
