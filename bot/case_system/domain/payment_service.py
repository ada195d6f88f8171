"""Registering a payment received for a case: the payment, the plan it counts towards brought up
to date, and the debtor's SMS receipt, in one transaction. Idempotent by the caller's key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.requests import PaymentRegistration
from bot.case_system.domain import agency_messages, audit, statements
from bot.case_system.domain.case_service import existing_case
from bot.case_system.domain.clock import oslo_date
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.domain.interest import RateTable
from bot.case_system.domain.outbox import Queued
from bot.case_system.store.models import Case, PaymentRecord
from bot.config import Settings


@dataclass(frozen=True)
class RegisteredPayment:
    payment: PaymentRecord
    case: Case
    balance: Decimal
    receipt: Optional[Queued]
    created: bool = True


async def register_payment(
    session: AsyncSession,
    case_number: str,
    body: PaymentRegistration,
    *,
    now: datetime,
    settings: Settings,
    rates: RateTable,
    context: audit.AuditContext,
) -> RegisteredPayment:
    today = oslo_date(now)
    if body.paid_on > today:
        raise errors.validation_error("paid_on", "is in the future")
    case = await existing_case(session, case_number)
    if body.idempotency_key is not None:
        query = sa.select(PaymentRecord).where(PaymentRecord.idempotency_key == body.idempotency_key)
        existing = (await session.execute(query)).scalar_one_or_none()
        if existing is not None and existing.case_id == case.id:
            balance = statements.case_statement(case, as_of=today, rates=rates).balance
            return RegisteredPayment(existing, case, balance, Queued.DUPLICATE, created=False)
    payment = PaymentRecord(
        case_id=case.id,
        paid_on=body.paid_on,
        amount=body.amount,
        reference=body.reference,
        idempotency_key=body.idempotency_key,
        created_at=now,
    )
    case.payments.append(payment)
    await session.flush()
    balance = statements.case_statement(case, as_of=today, rates=rates).balance
    hours = contact_hours(settings.agency_contact_hours)
    plan = statements.active_plan(case)
    if plan is not None:
        await agency_messages.keep_plan(session, plan, case, now=now, settings=settings, hours=hours)
    receipt = await agency_messages.queue_receipt(
        session, case, payment, balance=balance, now=now, settings=settings, hours=hours
    )
    audit.record(
        session,
        context,
        at=now,
        action="payment.register",
        subject_type="case",
        subject_id=case_number,
        outcome=receipt.value if receipt else "no_phone",
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise errors.ApiError(409, "conflict", "The payment was already registered; retry to read it.") from None
    return RegisteredPayment(payment, case, balance, receipt)
