"""The debtor web chat page, served by the backoffice at `/`.

Plain HTML, CSS and a small script; the Socket.IO client comes from its npm package
(`node_modules/`, installed by setup), served from here, never from a CDN. The page talks to the
dialogue server's Socket.IO channel (`bot/channels/socketio.py`) at `PUBLIC_BASE_URL`.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import REPO_ROOT, Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_FILES = {"socket.io.min.js": REPO_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"}
TYPES = {".css": "text/css", ".js": "text/javascript", ".json": "application/json"}


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page(settings: Settings) -> str:
    values = {
        "{{AGENCY_NAME}}": settings.agency_name,
        "{{PRIVACY_NOTICE_URL}}": settings.privacy_notice_url,
        "{{SOCKET_URL}}": settings.public_base_url,
    }
    text = _template()
    for placeholder, value in values.items():
        text = text.replace(placeholder, html.escape(value, quote=True))
    return text


def add_routes(app: web.Application, settings: Settings) -> None:
    socket_origin = _origin(settings.public_base_url)
    websocket_origin = socket_origin.replace("http", "ws", 1)
    security_headers = {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {socket_origin} {websocket_origin}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    async def index(request: web.Request) -> web.Response:
        response = web.Response(text=page(settings), content_type="text/html", charset="utf-8")
        response.headers.update(security_headers)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if name == "index.html" or "/" in name or not path.is_file():
            raise web.HTTPNotFound()
        return _file(path, security_headers)

    async def vendor(request: web.Request) -> web.StreamResponse:
        path = VENDOR_FILES.get(request.match_info["name"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="run `npm ci` (setup does) to install the web chat's Socket.IO client")
        return _file(path, security_headers)

    app.router.add_get("/", index, name="web_chat")
    app.router.add_get("/static/vendor/{name}", vendor, name="web_chat_vendor")
    app.router.add_get("/static/{name}", static, name="web_chat_static")


def _file(path: Path, headers: dict[str, str]) -> web.FileResponse:
    response = web.FileResponse(path, headers={"Content-Type": TYPES.get(path.suffix, "application/octet-stream")})
    response.headers.update(headers)
    return response
