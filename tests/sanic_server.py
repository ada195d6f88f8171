"""Serves a Sanic app on a free loopback port for a test, with its start and stop listeners."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from sanic import Sanic

from tests.e2e.conftest import free_port


@contextlib.asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """The app's base URL while it runs."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for connection in list(server.connections):
            connection.abort()  # keep-alive connections; their graceful close outlives the test's loop
        await server.after_stop()
