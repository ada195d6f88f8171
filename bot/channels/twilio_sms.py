"""Twilio Messaging (SMS) as a Rasa input channel.

`POST /webhooks/twilio_sms/webhook` checks Twilio's signature and then, before anything else,
writes the message to the spool, a table in the dialogue server's own database
(bot/channels/sms_spool.py); what happens to it next is bot/channels/sms_inbox.py's job. The case
system records it (a retried `MessageSid` is dropped; STOP/STOPP/AVSLUTT/START change consent),
and the webhook answers with empty TwiML. When the case system is unreachable or does not answer
within a few seconds, the message stays kept and the webhook's own TwiML says so
(`utter_sms_kept_for_later`; nothing for STOP and START, which Twilio confirms itself); every
replica's drainer tries again with backoff, and a kept message is recorded and answered, in order
and once, when the case system is back. Only when the spool itself cannot be written is the
message recorded directly and the debtor asked to try again.

The dialogue runs after the webhook's answer: a picture without text gets a polite answer, a
message over the length limit (bot/channels/limits.py) gets `utter_message_too_long`, anything
else goes to Rasa under `sms-<keyed hash of the number>` with the number as message metadata
`sender_phone` (one verification factor, never the only one). The replies of a turn are joined
into one GSM-7 safe SMS where they fit, kept in the spool, and put in the case system's outbox,
which the backoffice delivers in order and never to an opted-out number.

`POST /webhooks/twilio_sms/status` takes Twilio's delivery reports for those messages; one that
arrives before the send it reports on is recorded is tried again for a little while.
Logs carry no number and no text.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional
from xml.sax.saxutils import escape

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.case_system_client import Caller, CaseSystemClient, CaseSystemRejected, CaseSystemUnavailable
from bot.channels.common import (
    Reply,
    ReplyCollector,
    choice_payload,
    form_value,
    render,
    tracker_of,
    turn_replies,
    twilio_signature_valid,
)
from bot.channels.conversation_ids import sms_conversation_id
from bot.channels.gsm7 import to_gsm7
from bot.channels.limits import MAX_MESSAGE_CHARACTERS, TOO_LONG_RESPONSE, too_long
from bot.channels.sms_inbox import Receipt, SmsInbox
from bot.channels.sms_spool import InboundSms, KeptSms, SmsSpool
from bot.config import Settings, load_settings
from bot.phone_numbers import normalise_phone
from bot.sms_consent import consent_change

log = logging.getLogger(__name__)

CHANNEL = "twilio_sms"
MAX_SMS_CHARACTERS = 1600
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
REPORTED_STATUSES = {"sent", "delivered", "undelivered", "failed"}
# A delivery report can overtake the backoffice's record of the send it reports on; it is tried
# again after these pauses before it is given up (with a log line).
STATUS_RETRY_SECONDS = (0.5, 2.0, 5.0, 15.0)


def twiml(body: str = EMPTY_TWIML, status: int = 200) -> HTTPResponse:
    return response.text(body, status=status, content_type="text/xml")


def message_twiml(text: str) -> str:
    """TwiML that answers the incoming SMS with `text`."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'


def numbered_choices(buttons: list[dict[str, Any]]) -> str:
    """Buttons as a line an SMS can carry: "1) Ja, takk  2) Nei takk"; the reply is the digit."""
    return "  ".join(f"{index}) {button.get('title', '')}" for index, button in enumerate(buttons, start=1))


def compose_sms(replies: list[Reply]) -> list[str]:
    """A turn's replies as SMS bodies: one where the turn fits in 1600 characters, otherwise
    split between paragraphs (and, for a paragraph too long by itself, between words)."""
    paragraphs = []
    for reply in replies:
        if reply.text:
            paragraphs.append(reply.text.strip())
        if reply.buttons:
            paragraphs.append(numbered_choices(reply.buttons))
    paragraphs = [to_gsm7(paragraph) for paragraph in paragraphs if paragraph]
    bodies: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for piece in _pieces(paragraph, MAX_SMS_CHARACTERS):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) <= MAX_SMS_CHARACTERS:
                current = joined
            else:
                bodies.append(current)
                current = piece
    if current:
        bodies.append(current)
    return bodies


def _pieces(text: str, limit: int) -> list[str]:
    pieces, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(word) > limit:
            pieces.append(word[:limit])
            word = word[limit:]
        current = word
    if current:
        pieces.append(current)
    return pieces


def _count(value: str) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _turn_ran(tracker: DialogueStateTracker, message_id: str) -> bool:
    return any(isinstance(event, UserUttered) and event.message_id == message_id for event in tracker.events)


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        return cls(load_settings())

    def __init__(
        self,
        settings: Settings,
        case_system: Optional[CaseSystemClient] = None,
        spool: Optional[SmsSpool] = None,
        **inbox_options: Any,
    ) -> None:
        """`spool` defaults to the tracker store's database; `inbox_options` go to SmsInbox
        (a clock, the webhook's wait)."""
        if not settings.conversation_id_key:
            raise ValueError("the SMS channel needs CONVERSATION_ID_KEY (SMS conversation ids are keyed hashes)")
        self.settings = settings
        self.case_system = case_system or CaseSystemClient.from_settings(settings)
        self.spool = spool or SmsSpool(settings.tracker_store_url)
        self.inbox = SmsInbox(self.spool, self.case_system, self._answer, **inbox_options)
        self._tasks: set[asyncio.Task] = set()
        # Where kept messages are answered: the server's agent (replaced when a model is loaded)
        # and Rasa's message handler.
        self._agent_of: Optional[Callable[[], Any]] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._on_new_message = on_new_message
        hook = Blueprint("twilio_sms_webhook", __name__)

        @hook.listener("after_server_start")
        async def start_draining(app, _loop) -> None:
            self._agent_of = lambda: app.ctx.agent
            self.inbox.start()

        @hook.listener("before_server_stop")
        async def stop_draining(_app, _loop) -> None:
            await self.inbox.stop()
            await self.spool.close()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not twilio_signature_valid(request, self.settings.twilio_auth_token, self.settings.public_base_url):
                log.warning("sms webhook: missing or invalid Twilio signature")
                return response.text("forbidden", status=403)
            fields = {
                name: form_value(request, name) for name in ("MessageSid", "From", "Body", "NumMedia", "OptOutType")
            }
            if not fields["MessageSid"] or not fields["From"]:
                return response.text("MessageSid and From are required", status=400)
            try:
                fields["From"] = normalise_phone(fields["From"])
            except ValueError:
                return response.text("From is not a phone number", status=400)
            return await self._receive(request.app.ctx.agent, fields, on_new_message)

        @hook.route("/status", methods=["POST"])
        async def delivery_status(request: Request) -> HTTPResponse:
            if not twilio_signature_valid(request, self.settings.twilio_auth_token, self.settings.public_base_url):
                return response.text("forbidden", status=403)
            status = form_value(request, "MessageStatus")
            if status not in REPORTED_STATUSES:
                return twiml()
            return await self._delivery_report(
                {
                    "provider_id": form_value(request, "MessageSid"),
                    "status": status,
                    "error_code": form_value(request, "ErrorCode") or None,
                }
            )

        return hook

    # --- delivery reports ---------------------------------------------------------------------

    async def _delivery_report(self, report: dict[str, Any]) -> HTTPResponse:
        try:
            await self._record_status(report)
        except CaseSystemRejected as rejected:
            if rejected.code != "message_not_found":
                log.info("sms status callback not recorded: %s", rejected.code)
            else:
                # The report came before the backoffice recorded Twilio's answer to the send.
                self._spawn(self._record_status_later(report))
        except CaseSystemUnavailable:
            return response.text("try again", status=503)  # Twilio does not retry, but says so
        return twiml()

    async def _record_status(self, report: dict[str, Any]) -> None:
        caller = Caller(conversation_id="sms-delivery", channel="sms", purpose="sms_delivery_status")
        await self.case_system.record_sms_status(**report, caller=caller)

    async def _record_status_later(self, report: dict[str, Any]) -> None:
        for delay in STATUS_RETRY_SECONDS:
            await asyncio.sleep(delay)
            try:
                await self._record_status(report)
                return
            except CaseSystemRejected as rejected:
                if rejected.code != "message_not_found":
                    log.info("sms status callback not recorded: %s", rejected.code)
                    return
            except CaseSystemUnavailable:
                pass  # tried again below
        log.warning("sms status callback not recorded: no message with that id after %s s", sum(STATUS_RETRY_SECONDS))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- inbound messages ---------------------------------------------------------------------

    async def _receive(self, agent, fields: dict[str, str], on_new_message) -> HTTPResponse:
        if self._agent_of is None:  # not started by a server (tests): answer with this agent
            self._agent_of = lambda: agent
        self._on_new_message = self._on_new_message or on_new_message
        phone, text = fields["From"], fields["Body"]
        message = InboundSms(
            message_sid=fields["MessageSid"],
            conversation_id=sms_conversation_id(self.settings.conversation_id_key, phone),
            phone=phone,
            body="" if too_long(text) else text,  # the answer says it was too long; it is not kept
            num_media=_count(fields["NumMedia"]),
            opt_out_type=fields["OptOutType"] or None,
            too_long=too_long(text),
        )
        try:
            receipt = await self.inbox.receive(message)
        except Exception as error:  # the spool's database is unreachable
            log.error(
                "sms webhook: the message could not be kept (%s); recorded without the spool", type(error).__name__
            )
            return await self._receive_unspooled(agent, message)
        if receipt is Receipt.DUPLICATE:
            log.info("sms webhook retry ignored")
        elif receipt is Receipt.KEPT:
            log.warning("sms webhook: case system unreachable; the message is kept for later")
            if consent_change(message.body, message.opt_out_type) is None:
                return await self._channel_text(agent, message.conversation_id, "utter_sms_kept_for_later")
        return twiml()

    async def _receive_unspooled(self, agent, message: InboundSms) -> HTTPResponse:
        """Without the spool (its database is the tracker store's, so the dialogue is away too):
        a STOP or START is still recorded if the case system can, and the debtor is asked to try
        again."""
        inbound = await self.inbox.record_without_spool(message)
        if consent_change(message.body, message.opt_out_type) is not None:
            return twiml()  # Twilio confirms STOP and START itself
        if inbound is not None and (inbound["duplicate"] or inbound["opted_out"]):
            return twiml()
        return await self._channel_text(
            agent, message.conversation_id, "utter_sms_try_again_later", agency_phone=self.settings.agency_phone
        )

    async def _channel_text(self, agent, conversation_id: str, response_name: str, **values: Any) -> HTTPResponse:
        """TwiML answering the SMS with a domain response, in the conversation's language."""
        try:
            try:
                tracker = await tracker_of(agent, conversation_id)
            except Exception:  # the tracker store is away: the default language
                tracker = DialogueStateTracker(conversation_id, agent.domain.slots)
            text = await render(agent, tracker, response_name, CHANNEL, **values)
        except Exception as error:
            log.error("sms webhook: %s could not be made: %s", response_name, type(error).__name__)
            return twiml()
        return twiml(message_twiml(to_gsm7(text)))

    async def _answer(self, kept: KeptSms, give_up: bool) -> list[str]:
        """The SMS bodies answering a kept message (SmsInbox calls this once it is recorded)."""
        agent = self._agent_of() if self._agent_of else None
        if agent is None or self._on_new_message is None or not agent.is_ready():
            raise RuntimeError("no model is loaded")  # tried again later
        message, sender_id = kept.message, kept.conversation_id
        tracker = await tracker_of(agent, sender_id)
        if give_up:
            text = await render(
                agent, tracker, "utter_sms_try_again_later", CHANNEL, agency_phone=self.settings.agency_phone
            )
            return [to_gsm7(text)]
        full = await agent.tracker_store.retrieve_full_tracker(sender_id)
        if full is not None and _turn_ran(full, message.message_sid):
            # A worker stopped after the dialogue had answered and before the replies were kept:
            # the turn is read back, not run again.
            return compose_sms(turn_replies(full, message.message_sid) or [])
        if message.too_long:
            text = await render(agent, tracker, TOO_LONG_RESPONSE, CHANNEL, max_characters=MAX_MESSAGE_CHARACTERS)
            return [to_gsm7(text)]
        if not message.body:
            return [to_gsm7(await render(agent, tracker, "utter_sms_no_text", CHANNEL))]
        collector = ReplyCollector(CHANNEL)
        await self._on_new_message(
            UserMessage(
                choice_payload(tracker, message.body) or message.body,
                collector,
                sender_id,
                input_channel=CHANNEL,
                message_id=message.message_sid,
                metadata={"sender_phone": message.phone},
            )
        )
        return compose_sms(collector.replies)
