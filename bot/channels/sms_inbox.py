"""What becomes of an inbound SMS once the spool (bot/channels/sms_spool.py) has it: recorded with
the case system (which applies STOP and START), answered by the dialogue, its replies put in the
case system's outbox, and only then finished. Each step is written to the spool as it is done, so
that a step is not done twice when a worker stops half way, and the rest is done by whoever
claims the row next.

The webhook keeps the message and starts on it at once, waiting a few seconds at most for the
case system to record it; when the case system is unreachable, slow or refuses for a passing
reason, the message stays kept and every dialogue-server replica's drainer (`run`) tries again
with backoff, for as long as it takes. A conversation's messages are taken in the order they
came, one at a time, and each is answered once: the case system's record of a message id stays,
the spool's own row deduplicates Twilio's retries, and a turn the dialogue already ran is read
back from the tracker instead of being run again (by the answering callback of the channel).

One window is left: a reply whose enqueueing timed out after the case system committed it is
enqueued again on the next try (the outbox has no idempotency key), so it may be sent twice.

Log lines name spool row ids and error codes, never numbers or text.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Optional

from actions.case_system_client import Caller, CaseSystemClient, CaseSystemRejected, CaseSystemUnavailable
from bot.channels.sms_spool import ClaimLost, InboundSms, KeptSms, SmsSpool, Stage
from bot.sms_consent import consent_change

log = logging.getLogger(__name__)

# Seconds before the next try after 1, 2, ... failed tries in a row; then the last, for ever.
RETRY_DELAYS_SECONDS = (1, 2, 4, 8, 15, 30)
# A dialogue turn that keeps failing (not the case system: that is waited for) is given up after
# this many tries, about two minutes, and the debtor is asked to try again or call.
MAX_TURN_FAILURES = 8
WEBHOOK_WAIT_SECONDS = 3.0  # Twilio gives a webhook 15 s; the debtor hears from us well before
IDLE_POLL_SECONDS = 5.0  # rows another replica left behind are looked for at least this often
MIN_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 5.0  # the runner waits 10 s for a stopping process (bot/runner.py)
CLAIM_BATCH = 8  # conversations worked on at the same time by one drainer
FINISHED_KEPT_FOR = timedelta(days=1)
PURGE_EVERY = timedelta(hours=1)
# The case system's inbound route takes a body of at most this many characters (its API
# contract). A longer message is no consent keyword, so it is recorded without its text.
CASE_SYSTEM_BODY_LIMIT = 1600
# Refusals that can pass (a key being rotated, a rate limit): tried again like an outage.
PASSING_REFUSALS = {401, 403, 408, 429}
REPLY_PURPOSE = "conversation_reply"


class Receipt(str, enum.Enum):
    """What the webhook can tell the sender about a message it has just kept."""

    DUPLICATE = "duplicate"  # Twilio's retry of a message kept before: nothing more to do
    ACCEPTED = "accepted"  # recorded by the case system; answered in the background if at all
    KEPT = "kept"  # the case system cannot take it now: answered once it is back
    QUEUED = "queued"  # behind an earlier message of the conversation that is being answered


# The channel's part: the reply SMS bodies to a kept message (a dialogue turn); with `give_up`,
# the words for a message that could not be answered.
Answer = Callable[[KeptSms, bool], Awaitable[list[str]]]


class TryLater(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def retry_delay(failures: int) -> timedelta:
    """How long a message waits after `failures` failed tries in a row."""
    return timedelta(seconds=RETRY_DELAYS_SECONDS[min(max(failures, 1), len(RETRY_DELAYS_SECONDS)) - 1])


def _caller(conversation_id: str) -> Caller:
    return Caller(conversation_id=conversation_id, channel="sms", purpose="sms_conversation")


def _case_system_body(message: InboundSms) -> str:
    return message.body if len(message.body) <= CASE_SYSTEM_BODY_LIMIT else ""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SmsInbox:
    def __init__(
        self,
        spool: SmsSpool,
        case_system: CaseSystemClient,
        answer: Answer,
        *,
        clock: Callable[[], datetime] = _utc_now,
        webhook_wait_seconds: float = WEBHOOK_WAIT_SECONDS,
    ) -> None:
        self.spool = spool
        self.case_system = case_system
        self.answer = answer
        self.clock = clock
        self.webhook_wait_seconds = webhook_wait_seconds
        self._waiters: dict[str, tuple[str, asyncio.Future]] = {}  # message id -> (conversation, receipt)
        self._tasks: set[asyncio.Task] = set()
        self._wake: Optional[asyncio.Event] = None
        self._drainer: Optional[asyncio.Task] = None
        self._next_purge: Optional[datetime] = None
        self._stopping = False

    # --- the webhook ------------------------------------------------------------------------------

    async def receive(self, message: InboundSms) -> Receipt:
        """Keeps `message` and starts on it. Raises only when it cannot be kept (the spool's
        database is unreachable); after that, every failure leaves it kept for the drainer."""
        now = self.clock()
        if not await self.spool.keep(message, now=now):
            return Receipt.DUPLICATE
        receipt = asyncio.get_running_loop().create_future()
        self._waiters[message.message_sid] = (message.conversation_id, receipt)
        try:
            claimed = await self.spool.claim(now=now, conversation_id=message.conversation_id, limit=1)
            if not claimed:
                # An earlier message of the conversation is held: by a worker answering it, or
                # because it waits for the case system.
                self.wake()
                return Receipt.KEPT if await self.spool.waiting(message.conversation_id) else Receipt.QUEUED
            self._spawn(self._work_from(claimed[0]))
            try:
                return await asyncio.wait_for(asyncio.shield(receipt), self.webhook_wait_seconds)
            except asyncio.TimeoutError:
                return Receipt.KEPT  # the case system is slow; the work goes on without the webhook
        except Exception as error:  # kept already: the drainer takes it from here
            log.warning("sms spool: a kept message was not started: %s", type(error).__name__)
            self.wake()
            return Receipt.KEPT
        finally:
            self._waiters.pop(message.message_sid, None)

    async def record_without_spool(self, message: InboundSms) -> Optional[dict]:
        """The case system's record of a message the spool could not keep (so that a STOP still
        counts); None when the case system cannot record it either."""
        try:
            return await self.case_system.record_inbound_sms(
                message_sid=message.message_sid,
                from_phone=message.phone,
                body=_case_system_body(message),
                opt_out_type=message.opt_out_type,
                caller=_caller(message.conversation_id),
            )
        except (CaseSystemUnavailable, CaseSystemRejected) as error:
            log.error("sms: a message neither kept nor recorded: case system %s", type(error).__name__)
            return None

    def _tell(self, kept: KeptSms, receipt: Receipt) -> None:
        waiting = self._waiters.get(kept.message_sid)
        if waiting and not waiting[1].done():
            waiting[1].set_result(receipt)

    def _tell_conversation(self, conversation_id: str, receipt: Receipt) -> None:
        for conversation, waiter in list(self._waiters.values()):
            if conversation == conversation_id and not waiter.done():
                waiter.set_result(receipt)

    # --- the drainer ------------------------------------------------------------------------------

    def start(self) -> None:
        """Drains the spool in the background until `stop`."""
        self._stopping = False
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.ensure_future(self.run())

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stops draining. The message being worked on may finish its step within
        `grace_seconds` (cancelled in the middle of a write, it would hold SQLite's lock until the
        process ends); then it is cancelled, stays claimed until its lease runs out, and is taken
        up again then (here after a restart, or by another replica)."""
        self._stopping = True
        self.wake()
        running = [task for task in (self._drainer, *self._tasks) if task is not None and not task.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._drainer = None

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Drains until `stop`: at once when there is more, else when woken, when the next kept
        message is due, or every IDLE_POLL_SECONDS."""
        self._wake = asyncio.Event()
        while not self._stopping:
            self._wake.clear()
            due: Optional[datetime] = None
            try:
                if await self.drain():
                    continue
                due = await self.spool.next_due(now=self.clock())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be away for a moment
                log.warning("sms spool: drain pass failed: %s", type(error).__name__)
            wait = IDLE_POLL_SECONDS
            if due is not None:
                wait = min(IDLE_POLL_SECONDS, max(MIN_POLL_SECONDS, (due - self.clock()).total_seconds()))
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def drain(self) -> int:
        """One pass: claims the conversations whose next message is due and takes each as far as
        it goes. Returns how many messages were taken a step further."""
        now = self.clock()
        if self._next_purge is None or now >= self._next_purge:
            purged = await self.spool.purge(finished_before=now - FINISHED_KEPT_FOR)
            if purged:
                log.info("sms spool: %d finished rows purged", purged)
            self._next_purge = now + PURGE_EVERY
        if self._stopping:
            return 0
        claimed = await self.spool.claim(now=now, limit=CLAIM_BATCH)
        return sum(await asyncio.gather(*(self._work_from(kept) for kept in claimed)))

    async def settle(self) -> None:
        """Waits for the work the webhook started (for tests and a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coroutine: Awaitable[int]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one conversation -------------------------------------------------------------------------

    async def _work_from(self, kept: KeptSms) -> int:
        """Works on `kept`, then on the conversation's next messages while they can be claimed."""
        conversation_id = kept.conversation_id
        progressed = 0
        current: Optional[KeptSms] = kept
        while current is not None:
            if not await self._work_holding_lease(current):
                self._tell_conversation(conversation_id, Receipt.KEPT)
                break
            progressed += 1
            if self._stopping:
                break
            following = await self.spool.claim(now=self.clock(), conversation_id=conversation_id, limit=1)
            current = following[0] if following else None
        return progressed

    async def _work_holding_lease(self, kept: KeptSms) -> bool:
        renewal = asyncio.ensure_future(self._renew(kept))
        try:
            return await self._work(kept)
        except ClaimLost:
            log.warning("sms spool: row %d was claimed elsewhere while being worked on", kept.id)
            return False
        except Exception as error:
            # Only the type: an unexpected error's message could quote the debtor's text.
            log.error("sms spool: row %d failed: %s", kept.id, type(error).__name__)
            try:
                await self.spool.retry_later(
                    kept, now=self.clock(), delay=retry_delay(kept.failures + 1), error=type(error).__name__
                )
            except Exception:
                pass  # the lease runs out, and the row is taken up again then
            return False
        finally:
            renewal.cancel()

    async def _renew(self, kept: KeptSms) -> None:
        while True:
            await asyncio.sleep(self.spool.lease.total_seconds() / 3)
            try:
                await self.spool.renew(kept, now=self.clock())
            except ClaimLost:
                return
            except Exception as error:
                log.warning("sms spool: lease of row %d not renewed: %s", kept.id, type(error).__name__)

    async def _work(self, kept: KeptSms) -> bool:
        """Takes a claimed message as far as it goes; False when it was put back for later."""
        try:
            if kept.stage is Stage.RECEIVED:
                recorded = await self._record(kept)
                if recorded is None:
                    return True
                kept = recorded
            if kept.stage is Stage.RECORDED:
                answered = await self._answer(kept)
                if answered is None:
                    return True
                kept = answered
            await self._queue_replies(kept)
            return True
        except TryLater as later:
            delay = retry_delay(kept.failures + 1)
            log.warning("sms spool: row %d kept for another try in %ds: %s", kept.id, delay.seconds, later.code)
            await self.spool.retry_later(kept, now=self.clock(), delay=delay, error=later.code)
            return False

    async def _record(self, kept: KeptSms) -> Optional[KeptSms]:
        """The case system records the message (and a STOP or START). None when that is all."""
        message = kept.message
        keyword = consent_change(message.body, message.opt_out_type)
        try:
            inbound = await self.case_system.record_inbound_sms(
                message_sid=message.message_sid,
                from_phone=message.phone,
                body=_case_system_body(message),
                opt_out_type=message.opt_out_type,
                caller=_caller(kept.conversation_id),
            )
        except CaseSystemUnavailable:
            self._tell(kept, Receipt.KEPT)
            raise TryLater("case_system_unavailable") from None
        except CaseSystemRejected as refused:
            if refused.status in PASSING_REFUSALS:
                self._tell(kept, Receipt.KEPT)
                raise TryLater(f"case_system_{refused.status}") from None
            # It will never be recorded. The outbox still suppresses replies to an opted-out
            # number, so the debtor is answered all the same; a keyword it could not apply is not.
            log.warning("sms spool: row %d refused by the case system: %s", kept.id, refused.code)
            inbound = {"duplicate": False, "consent": keyword.value if keyword else None, "opted_out": False}
        self._tell(kept, Receipt.ACCEPTED)
        now = self.clock()
        # The spool deduplicates Twilio's retries, so a duplicate here is this message recorded
        # by an earlier try whose answer was lost; a keyword in it was applied then.
        consent = inbound["consent"] or (keyword.value if inbound["duplicate"] and keyword else None)
        if consent or inbound["opted_out"]:
            # Twilio confirms STOP and START itself; an opted-out number is sent nothing.
            log.info("sms consent: %s", consent or "opted out")
            await self.spool.finish(kept, now=now)
            return None
        return await self.spool.advance(kept, now=now, stage=Stage.RECORDED)

    async def _answer(self, kept: KeptSms) -> Optional[KeptSms]:
        """The dialogue's reply, kept with the message. None when there is nothing to send."""
        give_up = kept.failures >= MAX_TURN_FAILURES - 1
        try:
            bodies = await self.answer(kept, give_up)
        except Exception as error:
            if not give_up:
                raise TryLater(f"turn_{type(error).__name__}") from None
            log.error(
                "sms spool: row %d given up after %d failed turns: %s", kept.id, kept.failures, type(error).__name__
            )
            await self.spool.finish(kept, now=self.clock())
            return None
        if give_up:
            log.error("sms spool: row %d given up after %d failed turns; asked to try again", kept.id, kept.failures)
        bodies = [body for body in bodies if body]
        if not bodies:
            await self.spool.finish(kept, now=self.clock())
            return None
        return await self.spool.advance(kept, now=self.clock(), stage=Stage.ANSWERED, replies=bodies, replies_queued=0)

    async def _queue_replies(self, kept: KeptSms) -> None:
        """Puts the kept replies in the case system's outbox in order, each once, then finishes."""
        for index in range(kept.replies_queued, len(kept.replies)):
            try:
                await self.case_system.enqueue_sms(
                    to_phone=kept.message.phone,
                    body=kept.replies[index],
                    purpose=REPLY_PURPOSE,
                    caller=_caller(kept.conversation_id),
                )
            except CaseSystemUnavailable:
                raise TryLater("outbox_unavailable") from None
            except CaseSystemRejected as refused:
                if refused.status in PASSING_REFUSALS:
                    raise TryLater(f"outbox_{refused.status}") from None
                log.warning("sms spool: reply %d of row %d refused by the outbox: %s", index + 1, kept.id, refused.code)
            kept = await self.spool.advance(kept, now=self.clock(), replies_queued=index + 1)
        await self.spool.finish(kept, now=self.clock())
