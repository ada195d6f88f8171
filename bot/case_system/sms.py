"""SMS consent and inbound deduplication: business rules of the case system.

A debtor who texts STOP (or STOPP, AVSLUTT, or whose carrier reports Twilio's `OptOutType`) is
never sent another SMS until they text START. Twilio retries a webhook it thinks failed with the
same `MessageSid`; each one is processed once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.models import Base, UTCDateTime, utcnow

# Keywords are whole messages, compared without case or surrounding punctuation.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopp", "avslutt", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})  # not "yes": that answers questions
# Twilio's Advanced Opt-Out reports what the keyword meant in `OptOutType`.
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in"}


class ConsentChange(str, enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class SmsOptOut(Base):
    """A number that asked not to be texted. The row is removed again when it texts START."""

    __tablename__ = "sms_opt_outs"

    phone = sa.Column(sa.String(20), primary_key=True)  # E.164
    opted_out_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


class InboundSms(Base):
    """The provider id of every inbound SMS processed (no number, no text): deduplicates retries."""

    __tablename__ = "inbound_sms"

    message_sid = sa.Column(sa.String(64), primary_key=True)
    received_at = sa.Column(UTCDateTime(), nullable=False, default=utcnow)


def consent_change(body: str, opt_out_type: Optional[str] = None) -> Optional[ConsentChange]:
    """What an inbound message says about consent: opt out, opt in, or nothing.

    >>> consent_change("Stopp.")
    <ConsentChange.OPT_OUT: 'opt_out'>
    >>> consent_change("stopp betalingen min") is None  # a sentence is not a keyword
    True
    """
    if opt_out_type:
        change = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if change:
            return ConsentChange(change)
    word = body.strip().strip(".!?,;:\"' ").lower()
    if word in OPT_OUT_KEYWORDS:
        return ConsentChange.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return ConsentChange.OPT_IN
    return None


async def is_opted_out(session: AsyncSession, phone: str) -> bool:
    return (await session.get(SmsOptOut, phone)) is not None


async def apply_consent_change(session: AsyncSession, phone: str, change: ConsentChange, *, now: datetime) -> None:
    existing = await session.get(SmsOptOut, phone)
    if change is ConsentChange.OPT_OUT and existing is None:
        session.add(SmsOptOut(phone=phone, opted_out_at=now))
    elif change is ConsentChange.OPT_IN and existing is not None:
        await session.delete(existing)
    await session.flush()


async def first_time_seen(session: AsyncSession, message_sid: str, *, now: datetime) -> bool:
    """Records `message_sid`; False when it was processed before (a retried webhook).

    Call it first in the request's transaction: when a concurrent duplicate wins the race on the
    primary key, the transaction is rolled back and this one is the duplicate. The row becomes
    visible with the caller's commit, together with what the message changed.
    """
    if await session.get(InboundSms, message_sid) is not None:
        return False
    session.add(InboundSms(message_sid=message_sid, received_at=now))
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return False
    return True
