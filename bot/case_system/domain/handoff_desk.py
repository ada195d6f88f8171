"""A caseworker at work on handoffs: take one, write to the debtor on their channel, hand the
conversation back to the assistant, resolve it with an outcome; and the debtor's messages while a
caseworker has the conversation.

The shape is Chatwoot's bot-to-agent handoff: the assistant answers until a caseworker takes the
conversation, then stays silent (Rasa's `pause`) until it is handed back (`resume`). The
handoff's state lives here, in the case system's database, and is changed by conditional updates
(`... WHERE status = 'open'`), so two caseworkers taking one handoff at once cannot both win.
Each state change is announced on the live events (the console's queue) and the optional webhook.

Every read of a handoff's conversation is audited with the caseworker's identity; texts are kept
with identity numbers redacted (bot/redaction.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import metrics
from bot.case_system.contract import errors
from bot.case_system.contract.enums import (
    ACTIVE_HANDOFF_STATUSES,
    CaseworkerRole,
    Channel,
    HandoffOutcome,
    HandoffStatus,
    MessageSender,
    OutboundStatus,
)
from bot.case_system.domain import audit, caseworkers, outbox, sms
from bot.case_system.domain.conversation_relay import ConversationRelay
from bot.case_system.domain.handoff_webhook import HandoffWebhook
from bot.case_system.domain.opening_hours import OpeningHours
from bot.case_system.store.live_events import LiveEvent
from bot.case_system.store.models import MAX_SMS_CHARACTERS, Caseworker, Handoff, HandoffMessageRecord, SmsConversation
from bot.channels.gsm7 import to_gsm7
from bot.redaction import redact_text

log = logging.getLogger(__name__)

RETURNED_RESPONSE = "utter_caseworker_returned"  # in the domain, Bokmål and English
REPLY_PURPOSE = "caseworker_reply"
RETURN_PURPOSE = "caseworker_returned"


def handoff_not_found() -> errors.ApiError:
    return errors.ApiError(404, "handoff_not_found", "No such handoff.")


def _conflict(code: str, message: str, handoff: Handoff) -> errors.Conflict:
    return errors.Conflict(code, message, status=handoff.status.value)


@dataclass
class HandoffDesk:
    """The use cases, with what they need besides the database: the dialogue server's API, the
    live events, the webhook and the opening hours."""

    relay: ConversationRelay
    events: object  # store.live_events.InProcessEvents or PostgresEvents
    webhook: HandoffWebhook
    hours: OpeningHours
    sla: timedelta
    wake_outbox: Callable[[], None] = lambda: None

    # --- reading -------------------------------------------------------------------------------

    async def load(self, session: AsyncSession, handoff_id: int, *, with_messages: bool = False) -> Handoff:
        # Read afresh: the state changes below are conditional UPDATEs the loaded objects do not see.
        query = (
            sa.select(Handoff)
            .where(Handoff.id == handoff_id)
            .options(selectinload(Handoff.taken_by))
            .execution_options(populate_existing=True)
        )
        if with_messages:
            query = query.options(selectinload(Handoff.messages))
        handoff = (await session.execute(query)).scalar_one_or_none()
        if handoff is None:
            raise handoff_not_found()
        return handoff

    async def read(
        self, session: AsyncSession, handoff_id: int, *, now: datetime, context: audit.AuditContext
    ) -> Handoff:
        """The handoff with its messages; a view of the debtor's data, audited."""
        handoff = await self.load(session, handoff_id, with_messages=True)
        self._audit(session, context, now, "handoff.read", handoff, "ok")
        await session.commit()
        return handoff

    def expected_answer_by(self, created_at: datetime) -> datetime:
        return self.hours.expected_answer_by(created_at, self.sla)

    # --- taking ----------------------------------------------------------------------------------

    async def take(
        self,
        session: AsyncSession,
        handoff_id: int,
        caseworker: Caseworker,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> Handoff:
        """Take an open handoff: exactly one of several caseworkers taking it at once wins (409
        for the others). The assistant is paused in the conversation; if the dialogue server
        cannot be reached the take is undone and the caller told (503)."""
        handoff = await self.load(session, handoff_id)
        table = Handoff.__table__
        won = await session.execute(
            table.update()
            .where(table.c.id == handoff_id, table.c.status == HandoffStatus.OPEN.value)
            .values(status=HandoffStatus.TAKEN.value, taken_by_id=caseworker.id, taken_at=now, updated_at=now)
        )
        if won.rowcount != 1:
            await session.rollback()
            handoff = await self.load(session, handoff_id)
            raise _conflict("handoff_not_open", "The handoff is not open: it was taken, returned or resolved.", handoff)
        self._audit(session, context, now, "handoff.take", handoff, "taken")
        await session.commit()
        try:
            if handoff.channel is not Channel.VOICE:  # a call is transferred; there is nothing to pause
                await self.relay.pause(handoff.conversation_id)
        except errors.ApiError:
            await session.execute(
                table.update()
                .where(
                    table.c.id == handoff_id,
                    table.c.status == HandoffStatus.TAKEN.value,
                    table.c.taken_by_id == caseworker.id,
                )
                .values(status=HandoffStatus.OPEN.value, taken_by_id=None, taken_at=None, updated_at=now)
            )
            self._audit(session, context, now, "handoff.take", handoff, "undone")
            await session.commit()
            raise
        metrics.HANDOFF_TAKE_SECONDS.observe(max(0.0, (now - handoff.created_at).total_seconds()))
        handoff = await self.load(session, handoff_id)
        await self._announce("taken", handoff, now)
        return handoff

    async def reassign(
        self,
        session: AsyncSession,
        handoff_id: int,
        supervisor: Caseworker,
        to_username: Optional[str],
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> Handoff:
        """A supervisor gives an open or taken handoff to a caseworker (themselves by default)."""
        if supervisor.role is not CaseworkerRole.SUPERVISOR:
            raise errors.ApiError(403, "supervisors_only", "Only a supervisor can reassign a handoff.")
        target = supervisor if to_username is None else await caseworkers.active_caseworker(session, to_username)
        if target is None:
            raise errors.validation_error("to", "must be the username of an active caseworker")
        handoff = await self.load(session, handoff_id)
        was_open = handoff.status is HandoffStatus.OPEN
        table = Handoff.__table__
        changed = await session.execute(
            table.update()
            .where(table.c.id == handoff_id, table.c.status.in_([status.value for status in ACTIVE_HANDOFF_STATUSES]))
            .values(status=HandoffStatus.TAKEN.value, taken_by_id=target.id, taken_at=now, updated_at=now)
        )
        if changed.rowcount != 1:
            await session.rollback()
            raise _conflict(
                "handoff_not_active", "The handoff was returned or resolved.", await self.load(session, handoff_id)
            )
        self._audit(session, context, now, "handoff.reassign", handoff, "reassigned", detail=f"to={target.username}")
        await session.commit()
        if was_open and handoff.channel is not Channel.VOICE:
            await self.relay.pause(handoff.conversation_id)  # pausing twice is harmless
        handoff = await self.load(session, handoff_id)
        await self._announce("taken", handoff, now)
        return handoff

    # --- writing to the debtor -------------------------------------------------------------------

    async def send_message(
        self,
        session: AsyncSession,
        handoff_id: int,
        caseworker: Caseworker,
        text: str,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> HandoffMessageRecord:
        """The caseworker's message, delivered on the conversation's channel: the web chat at once
        (through the dialogue server), SMS through the outbox (GSM-7 safe; an opted-out number
        gets nothing). 409 unless this caseworker has the handoff, and for a phone call."""
        handoff = await self.load(session, handoff_id)
        self._require_holder(handoff, caseworker, allow_supervisor=False)
        if handoff.channel is Channel.VOICE:
            raise _conflict("phone_handoff", "A phone call is answered on the phone, not with messages.", handoff)
        if handoff.channel is Channel.SMS:
            sms_text = to_gsm7(text).strip()[:MAX_SMS_CHARACTERS]
            if not sms_text:
                raise errors.validation_error("text", "must have characters an SMS can carry")
            record = await self._send_sms(session, handoff, caseworker, sms_text, now=now, context=context)
            try:  # the transcript: the SMS itself is already on its way
                await self.relay.say_as_caseworker(
                    handoff.conversation_id, sms_text, caseworker_name=caseworker.shown_name, deliver=False
                )
            except errors.ApiError:
                log.warning("handoff %s: an SMS reply was sent but not added to the transcript", handoff.id)
        else:
            # Web chat (and the REST channel, whose callers read the tracker): Rasa sends it to the
            # page the debtor has open. Only what reached the dialogue server is recorded.
            await self.relay.say_as_caseworker(
                handoff.conversation_id,
                text,
                caseworker_name=caseworker.shown_name,
                deliver=handoff.channel is Channel.WEB,
            )
            record = self._add_message(session, handoff, MessageSender.CASEWORKER, text, at=now, caseworker=caseworker)
            self._audit(session, context, now, "handoff.message", handoff, "delivered")
            await session.commit()
        await self.events.publish(LiveEvent("handoff.message", handoff.id, handoff.status.value, record.id))
        return record

    async def _send_sms(
        self,
        session: AsyncSession,
        handoff: Handoff,
        caseworker: Caseworker,
        text: str,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> HandoffMessageRecord:
        phone = await self._sms_number(session, handoff)
        opted_out = await sms.is_opted_out(session, phone)
        queued = outbox.enqueue_sms(
            session, to_phone=phone, body=text, purpose=REPLY_PURPOSE, now=now, suppressed=opted_out
        )
        record = self._add_message(session, handoff, MessageSender.CASEWORKER, text, at=now, caseworker=caseworker)
        await session.flush()
        self._audit(
            session, context, now, "handoff.message", handoff, queued.status.value, detail=f"outbound={queued.id}"
        )
        await session.commit()
        if queued.status is OutboundStatus.PENDING:
            self.wake_outbox()
        return record

    async def _sms_number(self, session: AsyncSession, handoff: Handoff) -> str:
        link = await session.get(SmsConversation, handoff.conversation_id)
        if link is None:
            raise _conflict(
                "sms_number_unknown",
                "No SMS from this conversation has been recorded; there is no number to answer.",
                handoff,
            )
        return link.phone

    # --- handing back and resolving ---------------------------------------------------------------

    async def return_to_assistant(
        self,
        session: AsyncSession,
        handoff_id: int,
        caseworker: Caseworker,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> Handoff:
        """The assistant answers the debtor again and says so (`utter_caseworker_returned`). The
        dialogue server is called first: if it cannot be reached nothing changes (503)."""
        handoff = await self.load(session, handoff_id)
        self._require_holder(handoff, caseworker, allow_supervisor=True)
        said: list[str] = []
        if handoff.channel is not Channel.VOICE:
            await self.relay.resume(handoff.conversation_id)
            deliver = handoff.channel is not Channel.SMS
            messages = await self.relay.execute(handoff.conversation_id, RETURNED_RESPONSE, deliver=deliver)
            said = [str(message["text"]) for message in messages if message.get("text")]
        table = Handoff.__table__
        changed = await session.execute(
            table.update()
            .where(table.c.id == handoff_id, table.c.status == HandoffStatus.TAKEN.value)
            .values(status=HandoffStatus.RETURNED.value, returned_at=now, updated_at=now)
        )
        if changed.rowcount != 1:
            await session.rollback()
            raise _conflict(
                "handoff_not_taken",
                "The handoff was returned or resolved meanwhile.",
                await self.load(session, handoff_id),
            )
        if said:
            text = (
                to_gsm7("\n\n".join(said)).strip()[:MAX_SMS_CHARACTERS]
                if handoff.channel is Channel.SMS
                else "\n\n".join(said)
            )
            self._add_message(session, handoff, MessageSender.ASSISTANT, text, at=now)
            if handoff.channel is Channel.SMS and text:
                phone = await self._sms_number(session, handoff)
                opted_out = await sms.is_opted_out(session, phone)
                outbox.enqueue_sms(
                    session, to_phone=phone, body=text, purpose=RETURN_PURPOSE, now=now, suppressed=opted_out
                )
        self._audit(session, context, now, "handoff.return", handoff, "returned")
        await session.commit()
        self.wake_outbox()
        handoff = await self.load(session, handoff_id)
        await self._announce("returned", handoff, now)
        return handoff

    async def resolve(
        self,
        session: AsyncSession,
        handoff_id: int,
        caseworker: Caseworker,
        outcome: HandoffOutcome,
        note: str,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> Handoff:
        """Close a handoff with its outcome and a note; the assistant answers again (no message).
        An open handoff may be resolved directly (a phone call's outcome, say)."""
        handoff = await self.load(session, handoff_id)
        if handoff.status not in ACTIVE_HANDOFF_STATUSES:
            raise _conflict("handoff_not_active", "The handoff was returned or resolved already.", handoff)
        if handoff.status is HandoffStatus.TAKEN:
            self._require_holder(handoff, caseworker, allow_supervisor=True)
        if handoff.channel is not Channel.VOICE:
            await self.relay.resume(handoff.conversation_id)
        table = Handoff.__table__
        changed = await session.execute(
            table.update()
            .where(table.c.id == handoff_id, table.c.status == handoff.status.value)
            .values(
                status=HandoffStatus.RESOLVED.value,
                outcome=outcome.value,
                note=redact_text(note.strip()) or None,
                resolved_at=now,
                updated_at=now,
                taken_by_id=handoff.taken_by_id or caseworker.id,
            )
        )
        if changed.rowcount != 1:
            await session.rollback()
            raise _conflict(
                "handoff_not_active", "The handoff changed meanwhile.", await self.load(session, handoff_id)
            )
        self._audit(session, context, now, "handoff.resolve", handoff, "resolved", detail=f"outcome={outcome.value}")
        await session.commit()
        handoff = await self.load(session, handoff_id)
        await self._announce("resolved", handoff, now)
        return handoff

    # --- the debtor's side -----------------------------------------------------------------------

    async def record_debtor_message(
        self,
        session: AsyncSession,
        conversation_id: str,
        text: str,
        at: datetime,
        *,
        now: datetime,
        context: audit.AuditContext,
    ) -> tuple[Handoff, HandoffMessageRecord]:
        """A debtor's message to a conversation a caseworker has (or is about to take)."""
        query = (
            sa.select(Handoff)
            .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE_HANDOFF_STATUSES))
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        handoff = (await session.execute(query)).scalar_one_or_none()
        if handoff is None:
            raise errors.ApiError(404, "handoff_not_found", "The conversation has no open or taken handoff.")
        record = self._add_message(session, handoff, MessageSender.DEBTOR, text, at=at)
        await session.flush()
        self._audit(session, context, now, "handoff.debtor_message", handoff, "recorded")
        await session.commit()
        await self.events.publish(LiveEvent("handoff.message", handoff.id, handoff.status.value, record.id))
        return handoff, record

    # --- announcing --------------------------------------------------------------------------------

    async def announce_created(self, handoff: Handoff, now: datetime) -> None:
        await self._announce("created", handoff, now)

    async def _announce(self, what: str, handoff: Handoff, now: datetime) -> None:
        await self.events.publish(LiveEvent(f"handoff.{what}", handoff.id, handoff.status.value))
        taken_by = handoff.taken_by.username if handoff.taken_by is not None else None
        self.webhook.send(f"handoff.{what}", handoff, at=now, taken_by=taken_by)

    # --- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _require_holder(handoff: Handoff, caseworker: Caseworker, *, allow_supervisor: bool) -> None:
        if handoff.status is not HandoffStatus.TAKEN:
            raise _conflict("handoff_not_taken", "Take the handoff first; it is not taken.", handoff)
        if handoff.taken_by_id == caseworker.id:
            return
        if allow_supervisor and caseworker.role is CaseworkerRole.SUPERVISOR:
            return
        raise _conflict("handoff_taken_by_another", "Another caseworker has this handoff.", handoff)

    @staticmethod
    def _add_message(
        session: AsyncSession,
        handoff: Handoff,
        sender: MessageSender,
        text: str,
        *,
        at: datetime,
        caseworker: Optional[Caseworker] = None,
    ) -> HandoffMessageRecord:
        record = HandoffMessageRecord(
            handoff_id=handoff.id,
            sender=sender,
            caseworker_id=caseworker.id if caseworker is not None else None,
            text=redact_text(text),
            at=at,
        )
        session.add(record)
        return record

    @staticmethod
    def _audit(
        session: AsyncSession,
        context: audit.AuditContext,
        now: datetime,
        action: str,
        handoff: Handoff,
        outcome: str,
        *,
        detail: Optional[str] = None,
    ) -> None:
        audit.record(
            session,
            context,
            at=now,
            action=action,
            subject_type="handoff",
            subject_id=str(handoff.id),
            outcome=outcome,
            channel=handoff.channel.value,
            conversation_id=handoff.conversation_id,
            detail=detail,
        )
