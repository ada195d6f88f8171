"""The backoffice's operational endpoints: `/health/live`, `/health/ready` and `/metrics`.

The case-system counters are taken from what a request's transaction writes (new verification
audit events, handoffs, payment plans, rights requests, SMS reported failed) and counted when it
commits, so a rolled-back request counts nothing. The one exception is the time until a handoff
is taken, which the handoff desk observes once its take has held (a take is a conditional UPDATE
that may be undone). The gauges are read from the database at each scrape.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot import metrics
from bot.case_system.contract.enums import HandoffStatus, OutboundStatus, RightsRequestStatus
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.database import ping
from bot.case_system.store.models import AuditEvent, Handoff, OutboundMessage, PaymentPlan, RightsRequest

logger = logging.getLogger(__name__)

READY_CHECK_SECONDS = 2.0
COUNTED_VERIFICATION_OUTCOMES = {"verified", "refused", "locked"}
FAILED_DELIVERY = {"failed", "undelivered"}
PENDING_KEY = "debtbot_metrics_pending"
OPEN_RIGHTS = (RightsRequestStatus.RECEIVED, RightsRequestStatus.IN_PROGRESS)


def _observations(session: Session) -> list:
    """What the flush about to happen means for the counters (kept until the commit)."""
    found = []
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            if obj.action == "identity.verify" and obj.outcome in COUNTED_VERIFICATION_OUTCOMES:
                found.append((metrics.VERIFICATIONS, (obj.outcome, obj.channel or "unknown"), None))
            elif obj.action == "sms.delivery_status" and obj.outcome in FAILED_DELIVERY:
                found.append((metrics.SMS_DELIVERY_FAILURES, (), None))
        elif isinstance(obj, Handoff):
            found.append((metrics.HANDOFFS, (obj.reason, _value(obj.channel)), None))
        elif isinstance(obj, PaymentPlan):
            found.append((metrics.PAYMENT_PLANS, (_value(getattr(obj, "created_via", None)) or "unknown",), None))
        elif isinstance(obj, RightsRequest):
            found.append((metrics.RIGHTS_REQUESTS, (_value(obj.type),), None))
    return found


def _value(field: Any) -> str:
    return getattr(field, "value", field) or "unknown"


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    session.info.setdefault(PENDING_KEY, []).extend(_observations(session))


def _after_commit(session: Session) -> None:
    for metric, labels, value in session.info.pop(PENDING_KEY, []):
        target = metric.labels(*labels) if labels else metric
        target.observe(value) if value is not None else target.inc()


def _after_rollback(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def count_committed_case_events() -> None:
    """Counts case events from every session's commits (idempotent: listeners are added once)."""
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


async def refresh_gauges(app: web.Application) -> None:
    system = app[CASE_SYSTEM]
    now = system.clock()
    async with system.sessions() as session:
        counts = (
            await session.execute(
                sa.select(
                    sa.select(sa.func.count())
                    .select_from(Handoff)
                    .where(Handoff.status == HandoffStatus.OPEN)
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.status == OutboundStatus.PENDING)
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .select_from(RightsRequest)
                    .where(RightsRequest.status.in_(OPEN_RIGHTS))
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .select_from(RightsRequest)
                    .where(RightsRequest.status.in_(OPEN_RIGHTS), RightsRequest.due_at < now)
                    .scalar_subquery(),
                )
            )
        ).one()
    for gauge, value in zip(
        (
            metrics.HANDOFFS_WAITING,
            metrics.SMS_OUTBOX_DEPTH,
            metrics.RIGHTS_REQUESTS_OPEN,
            metrics.RIGHTS_REQUESTS_OVERDUE,
        ),
        counts,
    ):
        gauge.set(value)


async def serve_metrics(request: web.Request) -> web.Response:
    system = request.app[CASE_SYSTEM]
    if not metrics.scrape_allowed(request.headers.get("Authorization", ""), system.settings.metrics_token):
        raise web.HTTPNotFound()
    try:
        await refresh_gauges(request.app)
    except Exception as error:  # the counters are still worth serving while the database is away
        logger.warning("metrics: database gauges not refreshed", extra={"error_type": type(error).__name__})
    return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})


async def live(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Ready when the case-system database answers within two seconds."""
    system = request.app[CASE_SYSTEM]
    try:
        database_ok = system.engine is not None and await asyncio.wait_for(ping(system.engine), READY_CHECK_SECONDS)
    except asyncio.TimeoutError:
        database_ok = False
    checks = {"database": "ok" if database_ok else "unreachable"}
    return web.json_response({"status": "ok" if database_ok else "unavailable", "checks": checks},
                             status=200 if database_ok else 503)  # fmt: skip


def add_routes(app: web.Application) -> None:
    count_committed_case_events()
    app.router.add_get("/health/live", live, name="health_live")
    app.router.add_get("/health/ready", ready, name="health_ready")
    app.router.add_get("/metrics", serve_metrics, name="metrics")
