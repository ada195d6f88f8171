"""Identity verification: case number plus birth date or national identity number.

Rules (ARCHITECTURE.md, "Identity verification"):
- A refusal looks the same whether the case is unknown, a factor is wrong or, on SMS, the sender
  number does not match, so callers cannot learn which case numbers exist.
- Attempts are counted per case number as typed, also when no such case exists, and per debtor
  when the number is one of a debtor's cases. Within a lock window at most
  `max_verification_failures` attempts per subject have their factors compared; the attempt that
  reaches the limit locks the subject for `verification_lock_minutes`. Locking one of a debtor's
  cases therefore locks verification through all of them.
- Every attempt is audited with its outcome, never with the values tried: `verified`, `refused`
  (checked: a wrong factor or no such case, also when that refusal locked the number and the
  caller is told `locked`) or `locked` (not checked at all).

Counting and comparing are atomic in the database (not in this process), so parallel attempts
from several conversations, processes or replicas cannot compare more than the limit:

1. Each attempt first *reserves* a place with one upsert per subject (INSERT ... ON CONFLICT DO
   UPDATE) that increments the subject's attempt count and returns the new count: within a
   window no two attempts get the same place. An expired lock starts over at 1; the place that
   reaches the limit sets `locked_until`.
2. Only an attempt whose place is within the limit for every subject is compared; the rest are
   answered `locked` without looking at the factors.
3. A success resets a subject's count only if the count is still its own place (nobody reserved
   since) and no lock is active other than the one its own place set, so a success never removes
   a lock another attempt set and cannot reopen the window while others are guessing. A success
   that nobody raced starts a new window, as one after a few typos always has.

A failure needs no second write: its place was counted when it was reserved. The reserved rows
stay locked until the caller commits (PostgreSQL row locks; SQLite's single write lock), so
attempts on one subject in fact pass one after another; reserving case first and debtor second
in every attempt means two attempts never wait on each other's rows in opposite order.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.case_system.contract import errors
from bot.case_system.contract.enums import Channel
from bot.case_system.contract.enums import VerificationOutcome as Outcome
from bot.case_system.contract.fields import ISO_DATE, case_number_as_typed
from bot.case_system.contract.requests import VerificationRequest
from bot.case_system.domain import audit
from bot.case_system.domain.clock import oslo_date
from bot.case_system.store import queries
from bot.case_system.store.models import Case, Debtor, UTCDateTime, VerificationLock
from bot.config import Settings
from bot.identifiers import InvalidIdentifier, validate_national_id
from bot.phone_numbers import normalise_phone

AUDIT_ACTION = "identity.verify"
AUDIT_SUBJECT = "case"


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
class Reservation:
    """One attempt's place in a subject's count, and the subject's lock right after reserving it."""

    subject: str
    number: int  # 1 for the first attempt since the last reset or expired lock
    locked_until: Optional[datetime]

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def may_compare(self, *, now: datetime, max_failures: int) -> bool:
        """Within the limit, and not behind a lock, except the one this very place set."""
        if self.number > max_failures:
            return False
        return not self.is_locked(now) or self.number == max_failures


def case_subject(case_number: str) -> str:
    return f"case:{case_number}"


def debtor_subject(debtor_id: int) -> str:
    return f"debtor:{debtor_id}"


class RejectedIdentityInput(errors.ApiError):
    """A malformed identity factor: answered with 422, audited as `rejected_input`, not counted."""

    def __init__(self, field_name: str, problem: str, attempt_context: dict[str, Any]) -> None:
        super().__init__(422, "validation_error", f"The field '{field_name}' {problem}.", field=field_name)
        self.case_number: Optional[str] = attempt_context.get("case_number")
        self.channel: Channel = attempt_context["channel"]
        self.conversation_id: str = attempt_context["conversation_id"]


def identity_attempt(request: VerificationRequest, *, today: date, allow_synthetic: bool) -> VerificationAttempt:
    """The attempt a well-shaped request makes, or `RejectedIdentityInput` for a malformed factor."""
    context: dict[str, Any] = {"channel": request.channel, "conversation_id": request.conversation_id}
    case_number = case_number_as_typed(request.case_number)
    if case_number is None:
        raise RejectedIdentityInput("case_number", "must be a case number of 6 to 8 digits", context)
    context["case_number"] = case_number
    birth_date = national_id = None
    if request.birth_date is not None:
        birth_date = _birth_date(request.birth_date, today=today, context=context)
    else:
        try:
            national_id = validate_national_id(request.national_id, allow_synthetic=allow_synthetic)
        except InvalidIdentifier:
            raise RejectedIdentityInput("national_id", "must be a valid national identity number", context) from None
    return VerificationAttempt(
        case_number=case_number,
        channel=request.channel,
        conversation_id=request.conversation_id,
        birth_date=birth_date,
        national_id=national_id,
        phone=request.phone,
    )


def _birth_date(value: str, *, today: date, context: dict[str, Any]) -> date:
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise RejectedIdentityInput("birth_date", "must be a date in the form YYYY-MM-DD", context) from None
    if parsed > today:
        raise RejectedIdentityInput("birth_date", "must not be in the future", context)
    return parsed


async def check_identity(
    session: AsyncSession,
    request: VerificationRequest,
    *,
    now: datetime,
    settings: Settings,
    context: audit.AuditContext,
) -> VerificationResult:
    """The use case behind `POST /verifications`: a malformed factor is audited (without its
    value) and refused with 422; a well-formed attempt is counted and checked (`verify_identity`)."""
    try:
        attempt = identity_attempt(request, today=oslo_date(now), allow_synthetic=settings.demo_mode)
    except RejectedIdentityInput as rejected:
        audit.record(
            session,
            context,
            at=now,
            action=AUDIT_ACTION,
            subject_type=AUDIT_SUBJECT,
            subject_id=rejected.case_number,
            outcome=Outcome.REJECTED_INPUT.value,
            channel=rejected.channel.value,
            conversation_id=rejected.conversation_id,
            detail=rejected.field,
        )
        await session.commit()
        raise
    result = await verify_identity(
        session,
        attempt,
        now=now,
        max_failures=settings.max_verification_failures,
        lock_for=timedelta(minutes=settings.verification_lock_minutes),
        context=context,
    )
    await session.commit()
    return result


async def verify_identity(
    session: AsyncSession,
    attempt: VerificationAttempt,
    *,
    now: datetime,
    max_failures: int,
    lock_for: timedelta,
    context: audit.AuditContext,
) -> VerificationResult:
    """Reserve the attempt, compare the factors if its place allows, and audit the outcome.

    The caller commits the session; until then the reserved rows stay locked for other attempts.
    """
    case = await _case_with_debtor(session, attempt.case_number)
    subjects = [case_subject(attempt.case_number)]
    if case is not None:
        subjects.append(debtor_subject(case.debtor_id))
    reservations = [
        await reserve_attempt(session, subject, now=now, max_failures=max_failures, lock_for=lock_for)
        for subject in subjects
    ]
    checked = all(place.may_compare(now=now, max_failures=max_failures) for place in reservations)
    if checked and case is not None and factors_match(case.debtor, attempt):
        for place in reservations:
            await release_attempt(session, place, now=now, max_failures=max_failures)
        result = VerificationResult(
            Outcome.VERIFIED,
            first_name=case.debtor.first_name,
            language=case.debtor.language.value,
            case_numbers=tuple(await queries.open_case_numbers(session, case.debtor_id)),
            verified_case_number=case.case_number,
        )
    else:
        locks = [place.locked_until for place in reservations if place.is_locked(now)]
        if locks or not checked:
            result = VerificationResult(Outcome.LOCKED, locked_until=max(locks, default=None))
        else:
            result = VerificationResult(Outcome.REFUSED)
    # The trail says whether the attempt was checked; the caller's answer does not.
    audited = Outcome.REFUSED if checked and not result.verified else result.outcome
    audit.record(
        session,
        context,
        at=now,
        action=AUDIT_ACTION,
        subject_type=AUDIT_SUBJECT,
        subject_id=attempt.case_number,
        outcome=audited.value,
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


async def reserve_attempt(
    session: AsyncSession,
    subject: str,
    *,
    now: datetime,
    max_failures: int,
    lock_for: timedelta,
) -> Reservation:
    """Count one attempt on `subject` in a single atomic statement and return its place.

    - An expired lock starts a fresh count at 1.
    - While a lock is active the count still grows (so every later place is over the limit) but
      the lock is neither extended nor shortened.
    - The place that reaches `max_failures` sets `locked_until = now + lock_for`.
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
    # In ON CONFLICT DO UPDATE, `col.*` are the values of the row already stored, also in the
    # SET expressions that follow `attempt_count`'s.
    expired = sa.and_(col.locked_until.isnot(None), col.locked_until <= now_param)
    active = sa.and_(col.locked_until.isnot(None), col.locked_until > now_param)
    counted = sa.case((expired, 1), else_=col.attempt_count + 1)
    statement = insert(locks).values(
        subject=subject,
        attempt_count=1,
        locked_until=until if max_failures <= 1 else None,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[col.subject],
        set_={
            "attempt_count": counted,
            "locked_until": sa.case(
                (active, col.locked_until), (counted >= max_failures, until_param), else_=sa.null()
            ),
            "updated_at": now_param,
        },
    )
    if dialect == "postgresql":
        row = (await session.execute(statement.returning(col.attempt_count, col.locked_until))).one()
        return Reservation(subject, row.attempt_count, row.locked_until)
    # SQLAlchemy 1.4 cannot compile RETURNING for SQLite. The upsert has taken SQLite's single
    # write lock for this transaction, so no other writer can change the row before we read it.
    await session.execute(statement)
    query = sa.select(col.attempt_count, col.locked_until).where(col.subject == subject)
    row = (await session.execute(query)).one()
    return Reservation(subject, row.attempt_count, row.locked_until)


async def release_attempt(session: AsyncSession, place: Reservation, *, now: datetime, max_failures: int) -> bool:
    """After a success, reset the subject's count if nobody reserved since; whether it did.

    The row goes only while its count is still this attempt's place and no lock is active but the
    one this place set by reaching the limit: a lock set by any later attempt stays.
    """
    locks = VerificationLock.__table__
    col = locks.c
    now_param = sa.bindparam("now", now, type_=UTCDateTime())
    statement = sa.delete(locks).where(
        col.subject == place.subject,
        col.attempt_count == place.number,
        sa.or_(col.locked_until.is_(None), col.locked_until <= now_param, col.attempt_count >= max_failures),
    )
    return (await session.execute(statement)).rowcount == 1
