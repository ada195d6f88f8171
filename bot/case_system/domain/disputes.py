"""Disputes (innsigelser): the rules for taking an objection to a claim, and the use case.

Any objection is taken as given, never argued: whether it is well founded is for a person to
decide, and collection out of court should not continue over an objection meanwhile (we did not
verify the exact statutory wording, so this is the project's rule, on the debtor's safe side).
So recording a dispute always stops collection on the case at once, and a caseworker is given
the case. One open dispute per case: a second objection is the same matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract import errors
from bot.case_system.contract.enums import CaseStatus, Channel, DisputeStatus
from bot.case_system.domain import audit, payment_plans
from bot.case_system.domain.case_service import existing_case
from bot.case_system.store.models import Case, Dispute
from bot.redaction import redact_text

MAX_REASON_CHARS = 2000


def clean_reason(text: str) -> str:
    """The debtor's own words, trimmed, without identity numbers, at most `MAX_REASON_CHARS`."""
    text = redact_text(" ".join(text.split()))
    return text[:MAX_REASON_CHARS]


@dataclass(frozen=True)
class RecordedDispute:
    dispute: Dispute
    case: Case
    created: bool  # False: the case already had an open dispute, which is returned


async def record_dispute(
    session: AsyncSession,
    case_number: str,
    reason: str,
    *,
    channel: Channel,
    conversation_id: str,
    now: datetime,
    context: audit.AuditContext,
) -> RecordedDispute:
    case = await existing_case(session, case_number)
    if case.status is CaseStatus.CLOSED:
        raise errors.Conflict("case_closed", "The case is closed; a caseworker can look at it.")
    query = sa.select(Dispute).where(Dispute.case_id == case.id, Dispute.status == DisputeStatus.OPEN).limit(1)
    open_dispute = (await session.execute(query)).scalar_one_or_none()
    if open_dispute is not None:
        return RecordedDispute(open_dispute, case, created=False)
    dispute = Dispute(
        case_id=case.id,
        reason=clean_reason(reason),
        status=DisputeStatus.OPEN,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=payment_plans.idempotency_key("dispute", conversation_id, case_number),
        received_at=now,
    )
    case.disputed = True
    case.collection_stopped = True
    session.add(dispute)
    audit.record(
        session,
        context,
        at=now,
        action="dispute.create",
        subject_type="case",
        subject_id=case_number,
        outcome="recorded",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    await session.commit()
    return RecordedDispute(dispute, case, created=True)
