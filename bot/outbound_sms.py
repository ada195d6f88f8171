"""Delivers the SMS outbox through Twilio, from the backoffice process.

Pending messages are sent oldest first and, per recipient, one at a time: a message waiting for
a retry holds back the later ones to the same number, so a debtor never reads answers out of
order. A message the agency started (a reminder, a receipt, a notice) waits until its `not_before`
and goes out only inside the contact window (domain/contact_window.py); held back, it does not
hold back answers to the same debtor. A number that has opted out gets nothing (its messages become `suppressed`). Failures are
retried with backoff a bounded number of times, then marked `failed`. The twilio client blocks,
so each send runs in a worker thread, never on the event loop. Log lines name message ids and
error codes only, never numbers or text.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.case_system.contract.enums import OutboundStatus
from bot.case_system.domain.contact_window import contact_hours, send_not_before
from bot.case_system.domain.opening_hours import OpeningHours
from bot.case_system.domain.sms import is_opted_out
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.http.routes.sms import OUTBOX_SIGNAL
from bot.case_system.store.models import OutboundMessage
from bot.config import Settings

log = logging.getLogger(__name__)

# The twilio library logs every request's URL and headers at INFO; keep that out of our logs.
_twilio_log = logging.getLogger("twilio.http_client")
_twilio_log.setLevel(logging.WARNING)

SEND_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 5
RETRY_BACKOFF = (timedelta(seconds=2), timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=5))
STATUS_CALLBACK_PATH = "/webhooks/twilio_sms/status"


def retry_delay(attempts: int) -> Optional[timedelta]:
    """How long to wait after `attempts` failed tries; None when the message has failed for good."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF)) - 1]


async def next_deliverable(session: AsyncSession, *, now: datetime, limit: int = 20) -> list[OutboundMessage]:
    """Pending messages that may be sent now: per recipient only the oldest pending one, so that a
    message waiting for a retry holds back the later ones (order per recipient is kept). A message
    whose `not_before` is still ahead (waiting for the contact window) is not counted. Rows are
    locked (PostgreSQL) so that two backoffice replicas never send the same message."""
    message = OutboundMessage
    oldest = (
        sa.select(sa.func.min(message.id))
        .where(message.status == OutboundStatus.PENDING)
        .where(sa.or_(message.not_before.is_(None), message.not_before <= now))
        .group_by(message.to_phone)
    )
    query = (
        sa.select(message)
        .where(message.id.in_(oldest))
        .where(sa.or_(message.next_attempt_at.is_(None), message.next_attempt_at <= now))
        .order_by(message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


class RedirectedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to another base URL (a local stand-in for the API)."""

    def __init__(self, base_url: str, **kwargs) -> None:
        super().__init__(logger=_twilio_log, **kwargs)
        self._base = urlsplit(base_url.rstrip("/"))

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        redirected = parts._replace(scheme=self._base.scheme, netloc=self._base.netloc).geturl()
        return super().request(method, redirected, *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    """The real twilio client, pointed at `TWILIO_API_BASE_URL` when that is set."""
    http_client = (
        RedirectedHttpClient(settings.twilio_api_base_url, timeout=SEND_TIMEOUT_SECONDS)
        if settings.twilio_api_base_url
        else TwilioHttpClient(logger=_twilio_log, timeout=SEND_TIMEOUT_SECONDS)
    )
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SmsDelivery:
    def __init__(
        self,
        sessions: sessionmaker,
        client: Client,
        *,
        from_number: str,
        status_callback: Optional[str],
        wake_up: Optional[asyncio.Event] = None,
        poll_seconds: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
        contact: Optional[OpeningHours] = None,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.from_number = from_number
        self.status_callback = status_callback
        self.wake_up = wake_up or asyncio.Event()
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.contact = contact or contact_hours()

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker, wake_up: asyncio.Event) -> "SmsDelivery":
        return cls(
            sessions,
            twilio_client(settings),
            from_number=settings.twilio_from_number,
            status_callback=settings.public_base_url + STATUS_CALLBACK_PATH,
            wake_up=wake_up,
            poll_seconds=settings.sms_delivery_poll_seconds,
            contact=contact_hours(settings.agency_contact_hours),
        )

    async def run(self) -> None:
        """Deliver until cancelled; wakes when a message is enqueued or every `poll_seconds`."""
        while True:
            self.wake_up.clear()
            try:
                handled = await self.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be briefly away; try again later
                log.warning("sms delivery pass failed: %s", type(error).__name__)
                handled = 0
            if handled:
                continue
            try:
                await asyncio.wait_for(self.wake_up.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def deliver_pending(self) -> int:
        """One pass: the oldest deliverable message of each recipient. Returns how many were handled."""
        handled = 0
        async with self.sessions() as session:
            for message in await next_deliverable(session, now=self.clock()):
                await self._deliver(session, message)
                await session.commit()
                handled += 1
        return handled

    async def _deliver(self, session, message: OutboundMessage) -> None:
        if await is_opted_out(session, message.to_phone):
            message.status = OutboundStatus.SUPPRESSED
            log.info("sms %s suppressed: recipient opted out", message.id)
            return
        now = self.clock()
        if message.agency_initiated and not self.contact.is_open(now):
            # Made inside the window but reached after it closed (a retry, a slow queue): wait again.
            message.not_before = send_not_before(now, self.contact)
            log.info("sms %s held until the contact window opens", message.id)
            return
        message.attempts += 1
        try:
            provider_id = await asyncio.to_thread(self._send, message.to_phone, message.body)
        except TwilioRestException as error:
            self._failed(message, str(error.code or error.status))
            return
        except (TwilioException, OSError) as error:  # OSError covers the requests library's errors
            self._failed(message, type(error).__name__[:32])
            return
        message.status = OutboundStatus.SENT
        message.provider_id = provider_id
        message.sent_at = self.clock()
        message.next_attempt_at = None
        log.info("sms %s sent (attempt %d)", message.id, message.attempts)

    def _send(self, to_phone: str, body: str) -> str:
        sent = self.client.messages.create(
            to=to_phone, from_=self.from_number, body=body, status_callback=self.status_callback
        )
        return sent.sid

    def _failed(self, message: OutboundMessage, code: str) -> None:
        message.error_code = code
        delay = retry_delay(message.attempts)
        if delay is None:
            message.status = OutboundStatus.FAILED
            message.next_attempt_at = None
            log.warning("sms %s failed for good after %d attempts: %s", message.id, message.attempts, code)
        else:
            message.next_attempt_at = self.clock() + delay
            log.warning(
                "sms %s attempt %d failed (%s); retrying in %ss", message.id, message.attempts, code, delay.seconds
            )


def attach(app, settings: Settings) -> None:
    """Run the delivery loop for as long as `app` (the backoffice) runs, when Twilio is configured.

    Must be called after the case system's own start-up context is registered: the loop uses its
    database sessions.
    """
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
        log.info("sms delivery is off: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or TWILIO_FROM_NUMBER is not set")
        return
    wake_up = asyncio.Event()
    app[OUTBOX_SIGNAL] = wake_up

    async def delivery_loop(app):
        delivery = SmsDelivery.from_settings(settings, app[CASE_SYSTEM].sessions, wake_up)
        task = asyncio.create_task(delivery.run(), name="sms-delivery")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(delivery_loop)
