"""The caseworker console's sessions and CSRF tokens, shared by the console's pages and the API
routes a logged-in caseworker may call.

Sessions are encrypted cookies (aiohttp-session's EncryptedCookieStorage, Fernet, keyed from
`CONSOLE_SESSION_SECRET` so that every backoffice process reads them): HttpOnly, SameSite=Strict,
Secure when the public address is https, valid for one working day after login. The session
holds the caseworker's id and a CSRF token, nothing else; every request loads the account again,
so a disabled account is logged out at its next request. Every state-changing request carries the
token (form field `csrf_token` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Optional

from aiohttp import web
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.domain import caseworkers
from bot.case_system.store.models import Caseworker
from bot.config import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "debtbot_console"
SESSION_HOURS = 10
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CASEWORKER_ID = "caseworker_id"
LOGGED_IN_AT = "logged_in_at"
CSRF_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _key(settings: Settings) -> bytes:
    secret = settings.console_session_secret
    if not secret:
        # Without the setting, sessions live as long as this process and are not shared.
        log.warning("CONSOLE_SESSION_SECRET is not set: console sessions end when the backoffice restarts")
        secret = secrets.token_urlsafe(32)
    return hashlib.sha256(("debtbot-console-session:" + secret).encode("utf-8")).digest()


def middleware(settings: Settings):
    storage = EncryptedCookieStorage(
        _key(settings),
        cookie_name=COOKIE_NAME,
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=settings.public_base_url.startswith("https://"),
    )
    return session_middleware(storage)


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made when it has none."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_matches(session: Session, presented: Optional[str]) -> bool:
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not expected or not presented:
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogateescape"), presented.encode("utf-8", "surrogateescape")
    )


async def caseworker_of(request: web.Request, db: AsyncSession) -> Optional[Caseworker]:
    """The logged-in caseworker of this request's session, if the account is still enabled."""
    session = await get_session(request)
    caseworker_id = session.get(CASEWORKER_ID)
    logged_in_at = session.get(LOGGED_IN_AT)
    if not isinstance(caseworker_id, int) or not isinstance(logged_in_at, (int, float)):
        return None
    if time.time() - logged_in_at > SESSION_HOURS * 3600:
        return None
    return await caseworkers.active_by_id(db, caseworker_id)


async def log_in(request: web.Request, caseworker: Caseworker) -> str:
    """A new session for `caseworker` (never the one the login page had: no fixation); its CSRF token."""
    session = await new_session(request)
    session[CASEWORKER_ID] = caseworker.id
    session[LOGGED_IN_AT] = int(time.time())
    return csrf_token(session)


async def log_out(request: web.Request) -> None:
    session = await get_session(request)
    session.invalidate()
