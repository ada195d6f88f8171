"""Caseworker accounts: passwords (argon2id), roles, disabling, and the login lockout.

A password is checked only after an attempt has been reserved in the database: one conditional
UPDATE counts it, so however many attempts arrive at once, at most `MAX_FAILED_LOGINS` passwords
are compared before the account locks for `LOCK_MINUTES`. A success resets the count. Hashing and
checking run in a worker thread: argon2 is deliberately slow and would stall the event loop.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import CaseworkerRole
from bot.case_system.contract.fields import USERNAME
from bot.case_system.domain import audit
from bot.case_system.store.models import Caseworker

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
ACTOR_PREFIX = "caseworker:"

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Compared against when the username is unknown, so that an unknown name takes as long as a
# wrong password and the answer does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """Why an account could not be created or changed (for the command line)."""


def actor(caseworker: Caseworker) -> str:
    """The caseworker as the audit trail names them."""
    return ACTOR_PREFIX + caseworker.username


def username_of_actor(value: str) -> Optional[str]:
    """The username in an `X-Actor: caseworker:<username>` header, or None."""
    if not value.startswith(ACTOR_PREFIX):
        return None
    username = value[len(ACTOR_PREFIX) :]
    return username if USERNAME.fullmatch(username) else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: Optional[str], password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


async def by_username(session: AsyncSession, username: str) -> Optional[Caseworker]:
    query = sa.select(Caseworker).where(Caseworker.username == username)
    return (await session.execute(query)).scalar_one_or_none()


async def active_caseworker(session: AsyncSession, username: str) -> Optional[Caseworker]:
    """The caseworker with that username if the account is enabled."""
    caseworker = await by_username(session, username)
    return caseworker if caseworker is not None and caseworker.active else None


async def active_by_id(session: AsyncSession, caseworker_id: int) -> Optional[Caseworker]:
    caseworker = await session.get(Caseworker, caseworker_id)
    return caseworker if caseworker is not None and caseworker.active else None


async def add_caseworker(
    session: AsyncSession,
    *,
    username: str,
    name: str,
    password: str,
    role: CaseworkerRole,
    display_name: Optional[str] = None,
    now: datetime,
    context: audit.AuditContext,
) -> Caseworker:
    """A new enabled account (committed); `AccountError` when the name is taken or a value is bad."""
    if not USERNAME.fullmatch(username):
        raise AccountError(
            "the username must be 1 to 64 lower-case letters, digits or . _ - (starting with a letter or digit)"
        )
    if not name.strip():
        raise AccountError("the name must not be empty")
    check_new_password(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    caseworker = Caseworker(
        username=username,
        name=name.strip()[:200],
        display_name=(display_name or "").strip()[:100] or None,
        role=role,
        password_hash=password_hash,
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(caseworker)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise AccountError(f"the username {username!r} is taken") from None
    audit.record(
        session,
        context,
        at=now,
        action="caseworker.add",
        subject_type="caseworker",
        subject_id=username,
        outcome=role.value,
    )
    await session.commit()
    return caseworker


async def set_password(
    session: AsyncSession, username: str, password: str, *, now: datetime, context: audit.AuditContext
) -> None:
    check_new_password(password)
    caseworker = await by_username(session, username)
    if caseworker is None:
        raise AccountError(f"no caseworker is called {username!r}")
    caseworker.password_hash = await asyncio.to_thread(hash_password, password)
    caseworker.failed_logins, caseworker.locked_until = 0, None
    audit.record(
        session,
        context,
        at=now,
        action="caseworker.password",
        subject_type="caseworker",
        subject_id=username,
        outcome="changed",
    )
    await session.commit()


async def disable_caseworker(
    session: AsyncSession, username: str, *, now: datetime, context: audit.AuditContext
) -> None:
    """Disable an account: no login, no integration acting for it; its open sessions end at their
    next request (every request loads the account)."""
    caseworker = await by_username(session, username)
    if caseworker is None:
        raise AccountError(f"no caseworker is called {username!r}")
    caseworker.active = False
    audit.record(
        session,
        context,
        at=now,
        action="caseworker.disable",
        subject_type="caseworker",
        subject_id=username,
        outcome="disabled",
    )
    await session.commit()


class LoginOutcome(str, enum.Enum):
    OK = "ok"
    REFUSED = "refused"  # unknown name, wrong password, or a disabled account: one answer for all
    LOCKED = "locked"


@dataclass(frozen=True)
class Login:
    outcome: LoginOutcome
    caseworker: Optional[Caseworker] = None
    locked_until: Optional[datetime] = None


async def log_in(session: AsyncSession, username: str, password: str, *, now: datetime) -> Login:
    """Check a login, counting it against the account's lockout; audited without the password."""
    table = Caseworker.__table__
    caseworker = await by_username(session, username) if USERNAME.fullmatch(username or "") else None
    if caseworker is None or not caseworker.active:
        await asyncio.to_thread(password_matches, None, password)  # the same time as a wrong password
        return await _audited(session, caseworker, now, Login(LoginOutcome.REFUSED))
    # A lock that has run out is lifted, with its count.
    await session.execute(
        table.update()
        .where(table.c.id == caseworker.id, table.c.locked_until.is_not(None), table.c.locked_until <= now)
        .values(failed_logins=0, locked_until=None)
    )
    # Reserve this attempt: only while the account is not locked and below the limit.
    reserved = await session.execute(
        table.update()
        .where(
            table.c.id == caseworker.id,
            table.c.locked_until.is_(None),
            table.c.failed_logins < MAX_FAILED_LOGINS,
        )
        .values(failed_logins=table.c.failed_logins + 1)
    )
    await session.commit()
    if reserved.rowcount != 1:
        await session.refresh(caseworker)
        return await _audited(
            session, caseworker, now, Login(LoginOutcome.LOCKED, locked_until=caseworker.locked_until)
        )
    if await asyncio.to_thread(password_matches, caseworker.password_hash, password):
        await session.execute(
            table.update()
            .where(table.c.id == caseworker.id)
            .values(failed_logins=0, locked_until=None, last_login_at=now)
        )
        await session.commit()
        await session.refresh(caseworker)
        return await _audited(session, caseworker, now, Login(LoginOutcome.OK, caseworker=caseworker))
    # The attempt that reaches the limit locks the account (any of them may; the first one does).
    await session.execute(
        table.update()
        .where(table.c.id == caseworker.id, table.c.failed_logins >= MAX_FAILED_LOGINS, table.c.locked_until.is_(None))
        .values(locked_until=now + timedelta(minutes=LOCK_MINUTES))
    )
    await session.commit()
    await session.refresh(caseworker)
    if caseworker.locked_until is not None:
        return await _audited(
            session, caseworker, now, Login(LoginOutcome.LOCKED, locked_until=caseworker.locked_until)
        )
    return await _audited(session, caseworker, now, Login(LoginOutcome.REFUSED))


async def _audited(session: AsyncSession, caseworker: Optional[Caseworker], now: datetime, login: Login) -> Login:
    # Only an existing account is named: a typed name that is none may be a password typed into
    # the wrong field.
    subject = caseworker.username if caseworker is not None else None
    who = audit.AuditContext(actor=ACTOR_PREFIX + subject if subject else "anonymous", purpose="console_login")
    audit.record(
        session,
        who,
        at=now,
        action="caseworker.login",
        subject_type="caseworker",
        subject_id=subject,
        outcome=login.outcome.value,
    )
    await session.commit()
    return login
