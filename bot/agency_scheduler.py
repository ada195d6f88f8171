"""Finds the messages the agency should start (installment reminders, broken-plan notices) and
queues them, periodically, from the backoffice process.

Safe with several backoffice replicas: each pass locks the active plans it works on with SELECT ...
FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one writer at a time anyway), a plan's breach is
claimed with a conditional UPDATE, and every message has an idempotency key, so a message is queued
once however many passes find it. The outbox's delivery loop sends them inside the contact window.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload, sessionmaker

from bot.case_system.contract.enums import PaymentPlanStatus
from bot.case_system.domain.agency_messages import keep_plan
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import Case, PaymentPlan
from bot.config import Settings

log = logging.getLogger(__name__)

PLANS_PER_PASS = 200


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def run_pass(sessions: sessionmaker, settings: Settings, *, now: datetime) -> dict[str, int]:
    """One pass over the active plans: returns how many reminders were queued and plans broken or completed."""
    hours = contact_hours(settings.agency_contact_hours)
    counts = {"reminders": 0, "broken": 0, "completed": 0}
    async with sessions() as session:
        query = (
            sa.select(PaymentPlan)
            .where(PaymentPlan.status == PaymentPlanStatus.ACTIVE)
            .order_by(PaymentPlan.id)
            .limit(PLANS_PER_PASS)
            .with_for_update(skip_locked=True, of=PaymentPlan)
            .options(
                selectinload(PaymentPlan.installments),
                selectinload(PaymentPlan.case).options(
                    joinedload(Case.debtor), joinedload(Case.creditor), selectinload(Case.payments)
                ),
            )
        )
        for plan in (await session.execute(query)).scalars():
            outcome = await keep_plan(session, plan, plan.case, now=now, settings=settings, hours=hours)
            counts["reminders"] += outcome.reminders
            counts["broken"] += outcome.broken
            counts["completed"] += outcome.completed
        await session.commit()
    return counts


class AgencyScheduler:
    def __init__(self, sessions: sessionmaker, settings: Settings, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock

    async def run(self) -> None:
        """A pass every `AGENCY_MESSAGE_POLL_SECONDS` until cancelled."""
        while True:
            try:
                counts = await run_pass(self.sessions, self.settings, now=self.clock())
                if any(counts.values()):
                    log.info("agency messages: %s", counts)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be briefly away; try again next time
                log.warning("agency message pass failed: %s", type(error).__name__)
            await asyncio.sleep(self.settings.agency_message_poll_seconds)


def attach(app, settings: Settings) -> None:
    """Run the scheduler for as long as `app` (the backoffice) runs; after the case system's start-up.
    A malformed `AGENCY_CONTACT_HOURS` stops the start with a `ValueError` that names it."""
    contact_hours(settings.agency_contact_hours)

    async def scheduler_loop(app):
        task = asyncio.create_task(AgencyScheduler(app[CASE_SYSTEM].sessions, settings).run(), name="agency-messages")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(scheduler_loop)
