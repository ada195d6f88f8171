"""The operator's dashboard at `/console/dashboard`, for supervisors: today's conversations and
containment, handoffs waiting, verification failures, the SMS outbox and overdue rights requests.

Every figure is counted from the records the metrics count (bot.metrics): conversations from the
tracker store's `session_started` events, the rest from the case system's tables and audit trail.
"Today" is the Oslo calendar day. Nothing on the page identifies a debtor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Optional

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import HandoffStatus, OutboundStatus, RightsRequestStatus
from bot.case_system.domain.clock import OSLO, oslo_date
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import AuditEvent, Handoff, OutboundMessage, RightsRequest
from bot.config import Settings, to_sync_url
from bot.console import views

OPEN_RIGHTS = (RightsRequestStatus.RECEIVED, RightsRequestStatus.IN_PROGRESS)
FAILED_VERIFICATION = ("refused", "locked")


@dataclass(frozen=True)
class Figures:
    conversations: Optional[int]  # None: the tracker store could not be read
    conversations_handed_off: int
    handoffs_waiting: int
    verification_failures: int
    verifications_locked: int
    sms_waiting: int
    sms_failed: int
    rights_open: int
    rights_overdue: int

    @property
    def containment(self) -> Optional[float]:
        """The share of today's conversations that ended without a handoff."""
        if not self.conversations:
            return None
        return max(0.0, 1 - self.conversations_handed_off / self.conversations)


def start_of_day(now: datetime) -> datetime:
    return datetime.combine(oslo_date(now), time(0), OSLO).astimezone(timezone.utc)


def conversations_since(tracker_engine: sa.engine.Engine, since: datetime) -> int:
    """Conversations with a session started since `since`, from Rasa's own `events` table."""
    query = sa.text(
        "SELECT COUNT(DISTINCT sender_id) FROM events WHERE type_name = 'session_started' AND timestamp >= :since"
    )
    with tracker_engine.connect() as connection:
        return int(connection.execute(query, {"since": since.timestamp()}).scalar_one())


async def figures(db: AsyncSession, tracker_engine: Optional[sa.engine.Engine], now: datetime) -> Figures:
    since = start_of_day(now)

    def count(model, *conditions) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(model).where(*conditions).scalar_subquery()

    row = (
        await db.execute(
            sa.select(
                sa.select(sa.func.count(sa.distinct(Handoff.conversation_id)))
                .where(Handoff.created_at >= since)
                .scalar_subquery(),
                count(Handoff, Handoff.status == HandoffStatus.OPEN),
                count(
                    AuditEvent,
                    AuditEvent.action == "identity.verify",
                    AuditEvent.outcome.in_(FAILED_VERIFICATION),
                    AuditEvent.at >= since,
                ),  # fmt: skip
                count(
                    AuditEvent,
                    AuditEvent.action == "identity.verify",
                    AuditEvent.outcome == "locked",
                    AuditEvent.at >= since,
                ),  # fmt: skip
                count(OutboundMessage, OutboundMessage.status == OutboundStatus.PENDING),
                count(
                    OutboundMessage,
                    OutboundMessage.status == OutboundStatus.FAILED,
                    OutboundMessage.created_at >= since,
                ),  # fmt: skip
                count(RightsRequest, RightsRequest.status.in_(OPEN_RIGHTS)),
                count(RightsRequest, RightsRequest.status.in_(OPEN_RIGHTS), RightsRequest.due_at < now),
            )
        )
    ).one()
    conversations: Optional[int] = None
    if tracker_engine is not None:
        try:
            conversations = await asyncio.to_thread(conversations_since, tracker_engine, since)
        except sa.exc.SQLAlchemyError:  # no tracker store yet, or unreachable: the page says so
            conversations = None
    return Figures(conversations, *row)


# --- the page ------------------------------------------------------------------------------------

TRACKER_ENGINE = web.AppKey("dashboard_tracker_engine", sa.engine.Engine)


def _tracker_engine(app: web.Application, settings: Settings) -> sa.engine.Engine:
    if TRACKER_ENGINE not in app:
        app[TRACKER_ENGINE] = sa.create_engine(to_sync_url(settings.tracker_store_url), pool_pre_ping=True)
    return app[TRACKER_ENGINE]


@views.page
async def dashboard_page(request: web.Request, db: AsyncSession, me: views.LoggedIn) -> web.Response:
    if me.caseworker.role.value != "supervisor":
        raise web.HTTPForbidden(text="the dashboard is for supervisors")
    system = request.app[CASE_SYSTEM]
    now = system.clock()
    shown = await figures(db, _tracker_engine(request.app, system.settings), now)
    return views._render(request, "dashboard.html", me=me.caseworker, csrf=me.csrf, figures=shown, now=now)


async def _dispose(app: web.Application) -> None:
    if TRACKER_ENGINE in app:
        app[TRACKER_ENGINE].dispose()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/dashboard", dashboard_page, name="console_dashboard")
    app.on_cleanup.append(_dispose)
