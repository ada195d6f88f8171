"""Identity verification: case number plus birth date or national identity number.

Rules (ARCHITECTURE.md, "Identity verification"):
- A refusal looks the same whether the case is unknown, a factor is wrong or, on SMS, the sender
  number does not match, so callers cannot learn which case numbers exist.
- Failures are counted per case number as typed; after `max_verification_failures` the number is
  locked for `verification_lock_minutes`, also when no such case exists.
- Every attempt is audited with its outcome, never with the values tried.

Failure counting is one atomic upsert (INSERT ... ON CONFLICT DO UPDATE), so concurrent attempts
from several conversations, processes or replicas cannot lose an increment.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.case_system import audit, db
from bot.case_system.models import Case, Channel, Debtor, UTCDateTime, VerificationLock

AUDIT_ACTION = "identity.verify"
AUDIT_SUBJECT = "case"


class Outcome(str, enum.Enum):
    VERIFIED = "verified"
    REFUSED = "refused"
    LOCKED = "locked"
    REJECTED_INPUT = "rejected_input"  # malformed factor: answered 422, not counted


@dataclass(frozen=True)
class VerificationAttempt:
    """One identity check, already syntactically valid. Exactly one factor is set."""

    case_number: str  # 6 to 8 digits, normalised
    channel: Channel
    conversation_id: str
    birth_date: Optional[date] = None
    national_id: Optional[str] = field(default=None, repr=False)  # 11 digits, check digits valid
    phone: Optional[str] = field(default=None, repr=False)  # E.164; the SMS sender

    @property
    def method(self) -> str:
        return "national_id" if self.national_id is not None else "birth_date"


@dataclass(frozen=True)
class VerificationResult:
    outcome: Outcome
    first_name: Optional[str] = None
    language: Optional[str] = None
    case_numbers: tuple[str, ...] = ()
    verified_case_number: Optional[str] = None
    locked_until: Optional[datetime] = None

    @property
    def verified(self) -> bool:
        return self.outcome is Outcome.VERIFIED


@dataclass(frozen=True)
class LockState:
    failure_count: int
    locked_until: Optional[datetime]

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def normalise_phone(value: str) -> str:
    """`value` as E.164 (Norwegian numbers may omit +47), or ValueError."""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def verify_identity(
    session: AsyncSession,
    attempt: VerificationAttempt,
    *,
    now: datetime,
    max_failures: int,
    lock_for: timedelta,
    context: audit.AuditContext,
) -> VerificationResult:
    """Check `attempt`, count a failure or reset the count, and audit the outcome.

    The caller commits the session.
    """
    state = await lock_state(session, attempt.case_number)
    if state is not None and state.is_locked(now):
        result = VerificationResult(Outcome.LOCKED, locked_until=state.locked_until)
    else:
        case = await _case_with_debtor(session, attempt.case_number)
        if case is not None and factors_match(case.debtor, attempt):
            await reset_failures(session, attempt.case_number)
            result = VerificationResult(
                Outcome.VERIFIED,
                first_name=case.debtor.first_name,
                language=case.debtor.language.value,
                case_numbers=tuple(await db.open_case_numbers(session, case.debtor_id)),
                verified_case_number=case.case_number,
            )
        else:
            state = await register_failure(
                session, attempt.case_number, now=now, max_failures=max_failures, lock_for=lock_for
            )
            if state.is_locked(now):
                result = VerificationResult(Outcome.LOCKED, locked_until=state.locked_until)
            else:
                result = VerificationResult(Outcome.REFUSED)
    audit.record(
        session,
        context,
        at=now,
        action=AUDIT_ACTION,
        subject_type=AUDIT_SUBJECT,
        subject_id=attempt.case_number,
        outcome=result.outcome.value,
        channel=attempt.channel.value,
        conversation_id=attempt.conversation_id,
        detail=attempt.method,
    )
    return result


def factors_match(debtor: Debtor, attempt: VerificationAttempt) -> bool:
    """Whether the attempt's factor (and, on SMS, the sender number) matches the debtor."""
    if attempt.national_id is not None:
        matched = hmac.compare_digest(debtor.national_id.encode(), attempt.national_id.encode())
    else:
        matched = attempt.birth_date is not None and debtor.birth_date == attempt.birth_date
    if attempt.channel is Channel.SMS:
        # The sender number is an extra factor on SMS, never enough on its own.
        matched = matched and _same_phone(debtor.phone, attempt.phone)
    return matched


def _same_phone(on_file: Optional[str], given: Optional[str]) -> bool:
    if not on_file or not given:
        return False
    try:
        return normalise_phone(on_file) == normalise_phone(given)
    except ValueError:
        return False


async def _case_with_debtor(session: AsyncSession, case_number: str) -> Optional[Case]:
    query = sa.select(Case).where(Case.case_number == case_number).options(joinedload(Case.debtor))
    return (await session.execute(query)).scalar_one_or_none()


async def lock_state(session: AsyncSession, case_number: str) -> Optional[LockState]:
    locks = VerificationLock.__table__
    query = sa.select(locks.c.failure_count, locks.c.locked_until).where(locks.c.case_number == case_number)
    row = (await session.execute(query)).first()
    return None if row is None else LockState(row.failure_count, row.locked_until)


async def reset_failures(session: AsyncSession, case_number: str) -> None:
    locks = VerificationLock.__table__
    await session.execute(sa.delete(locks).where(locks.c.case_number == case_number))


async def register_failure(
    session: AsyncSession,
    case_number: str,
    *,
    now: datetime,
    max_failures: int,
    lock_for: timedelta,
) -> LockState:
    """Count one failed attempt in a single atomic statement and return the new state.

    - An expired lock starts a fresh count at 1.
    - While a lock is active (another attempt locked it after our check) nothing changes, so the
      count stops at exactly `max_failures`.
    - Reaching `max_failures` sets `locked_until = now + lock_for`.
    """
    locks = VerificationLock.__table__
    connection = await session.connection()
    dialect = connection.dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"verification locks need SQLite or PostgreSQL, not {dialect}")

    until = now + lock_for
    now_param = sa.bindparam("now", now, type_=UTCDateTime())
    until_param = sa.bindparam("until", until, type_=UTCDateTime())
    col = locks.c
    # In ON CONFLICT DO UPDATE, `col.*` are the values of the row already stored.
    expired = sa.and_(col.locked_until.isnot(None), col.locked_until <= now_param)
    active = sa.and_(col.locked_until.isnot(None), col.locked_until > now_param)
    counted = sa.case((expired, 1), (active, col.failure_count), else_=col.failure_count + 1)
    statement = insert(locks).values(
        case_number=case_number,
        failure_count=1,
        locked_until=until if max_failures <= 1 else None,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[col.case_number],
        set_={
            "failure_count": counted,
            "locked_until": sa.case(
                (active, col.locked_until), (counted >= max_failures, until_param), else_=sa.null()
            ),
            "updated_at": now_param,
        },
    )
    if dialect == "postgresql":
        row = (await session.execute(statement.returning(col.failure_count, col.locked_until))).one()
        return LockState(row.failure_count, row.locked_until)
    # SQLAlchemy 1.4 cannot compile RETURNING for SQLite. The upsert has taken SQLite's single
    # write lock for this transaction, so no other writer can change the row before we read it.
    await session.execute(statement)
    state = await lock_state(session, case_number)
    assert state is not None
    return state
