"""Queries shared by the use cases: what a case read needs, a debtor's open cases, emptiness."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.case_system.contract.enums import CaseStatus
from bot.case_system.store.models import Case, Creditor, Debtor, PaymentPlan


async def is_empty(session: AsyncSession) -> bool:
    """Whether the database holds no creditors, debtors or cases (demo data may go in)."""
    for model in (Creditor, Debtor, Case):
        if (await session.execute(sa.select(model.id).limit(1))).first() is not None:
            return False
    return True


async def load_case(session: AsyncSession, case_number: str) -> Optional[Case]:
    """A case with everything its statement needs, in a fixed number of queries (no N+1)."""
    query = (
        sa.select(Case)
        .where(Case.case_number == case_number)
        .options(
            joinedload(Case.creditor),
            joinedload(Case.debtor),
            selectinload(Case.claim_lines),
            selectinload(Case.payments),
            selectinload(Case.payment_plans).selectinload(PaymentPlan.installments),
            selectinload(Case.postponements),
        )
    )
    return (await session.execute(query)).scalar_one_or_none()


async def open_case_numbers(session: AsyncSession, debtor_id: int) -> list[str]:
    query = (
        sa.select(Case.case_number)
        .where(Case.debtor_id == debtor_id, Case.status == CaseStatus.OPEN)
        .order_by(Case.case_number)
    )
    return list((await session.execute(query)).scalars())
