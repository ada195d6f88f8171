"""Twilio Messaging (SMS) as a Rasa input channel.

`POST /webhooks/twilio_sms/webhook` checks Twilio's signature, records the message with the case
system and answers with empty TwiML; a retried `MessageSid` is dropped, STOP/STOPP/AVSLUTT/START
change consent (stored by the case system). When the case system cannot be reached, the message
cannot be recorded or answered later, so the webhook's own TwiML asks the debtor to try again or
call. The dialogue runs in the background after the answer: a picture without text gets a polite
answer, anything else goes to Rasa under `sms-<keyed hash of the number>` with the number as
message metadata `sender_phone` (one verification factor, never the only one). The replies of a
turn are joined into one GSM-7 safe SMS where they fit and put in the case system's outbox, which
the backoffice delivers in order and never to an opted-out number.

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
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.case_system_client import Caller, CaseSystemClient, CaseSystemRejected, CaseSystemUnavailable
from bot.case_system.sms import consent_change
from bot.case_system.verification import normalise_phone
from bot.channels.common import ReplyCollector, Reply, choice_payload, form_value, render, tracker_of, twilio_signature_valid
from bot.channels.conversation_ids import sms_conversation_id
from bot.channels.gsm7 import to_gsm7
from bot.config import Settings, load_settings

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


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        return cls(load_settings())

    def __init__(self, settings: Settings, case_system: Optional[CaseSystemClient] = None) -> None:
        if not settings.conversation_id_key:
            raise ValueError("the SMS channel needs CONVERSATION_ID_KEY (SMS conversation ids are keyed hashes)")
        self.settings = settings
        self.case_system = case_system or CaseSystemClient.from_settings(settings)
        self._tasks: set[asyncio.Task] = set()
        self._conversation_locks: dict[str, list] = {}  # sender -> [lock, messages using it]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("twilio_sms_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not twilio_signature_valid(request, self.settings.twilio_auth_token, self.settings.public_base_url):
                log.warning("sms webhook: missing or invalid Twilio signature")
                return response.text("forbidden", status=403)
            fields = {name: form_value(request, name) for name in ("MessageSid", "From", "Body", "NumMedia", "OptOutType")}
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

    async def _receive(self, agent, fields: dict[str, str], on_new_message) -> HTTPResponse:
        phone = fields["From"]
        sender_id = sms_conversation_id(self.settings.conversation_id_key, phone)
        caller = Caller(conversation_id=sender_id, channel="sms", purpose="sms_conversation")
        try:
            inbound = await self.case_system.record_inbound_sms(
                message_sid=fields["MessageSid"],
                from_phone=phone,
                body=fields["Body"],
                opt_out_type=fields["OptOutType"] or None,
                caller=caller,
            )
        except CaseSystemUnavailable:
            log.warning("sms webhook: case system unreachable, the sender is asked to try again later")
            return await self._try_again_later(agent, sender_id, fields)
        except CaseSystemRejected as rejected:
            log.warning("sms webhook: message refused by the case system: %s", rejected.code)
            return twiml()
        if inbound["duplicate"]:
            log.info("sms webhook retry ignored")
        elif inbound["consent"] or inbound["opted_out"]:
            # Twilio confirms STOP and START itself; an opted-out number is sent nothing.
            log.info("sms consent: %s", inbound["consent"] or "opted out")
        else:
            # Twilio waits for this answer; the dialogue may take longer, so it runs after it.
            self._spawn(self._handle(agent, fields, phone, sender_id, caller, on_new_message))
        return twiml()

    async def _try_again_later(self, agent, sender_id: str, fields: dict[str, str]) -> HTTPResponse:
        if consent_change(fields["Body"], fields["OptOutType"] or None) is not None:
            return twiml()  # STOP and START are confirmed by Twilio, which also blocks opted-out numbers
        try:
            text = await render(
                agent, await tracker_of(agent, sender_id), "utter_sms_try_again_later", CHANNEL,
                agency_phone=self.settings.agency_phone,
            )
        except Exception:
            log.exception("sms webhook: the try-again message could not be made")
            return twiml()
        return twiml(message_twiml(to_gsm7(text)))

    async def _handle(self, agent, fields: dict[str, str], phone: str, sender_id: str, caller: Caller, on_new_message) -> None:
        # One message at a time per conversation, so replies are enqueued in the order asked.
        # The lock is dropped when no message of the conversation is waiting for it any more.
        entry = self._conversation_locks.setdefault(sender_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                await self._handle_in_order(agent, fields, phone, sender_id, caller, on_new_message)
        except (CaseSystemUnavailable, CaseSystemRejected) as error:
            log.warning("sms message not handled: case system %s", type(error).__name__)
        except Exception:
            log.exception("sms message not handled")
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._conversation_locks.pop(sender_id, None)

    async def _handle_in_order(self, agent, fields, phone, sender_id, caller, on_new_message) -> None:
        text = fields["Body"]
        if not text:
            tracker = await tracker_of(agent, sender_id)
            bodies = [to_gsm7(await render(agent, tracker, "utter_sms_no_text", CHANNEL))]
        else:
            payload = choice_payload(await tracker_of(agent, sender_id), text)
            collector = ReplyCollector(CHANNEL)
            await on_new_message(
                UserMessage(
                    payload or text,
                    collector,
                    sender_id,
                    input_channel=CHANNEL,
                    message_id=fields["MessageSid"],
                    metadata={"sender_phone": phone},
                )
            )
            bodies = compose_sms(collector.replies)
        for body in bodies:
            await self.case_system.enqueue_sms(to_phone=phone, body=body, purpose="conversation_reply", caller=caller)
