"""Twilio Voice as a Rasa input channel: the assistant on the phone, in Norwegian by default.

Routes under `/webhooks/twilio_voice/`, every one signature-checked against `PUBLIC_BASE_URL`:
- `webhook`: an incoming call. The dialogue starts (the digital-assistant notice and a greeting)
  under `voice-<CallSid>`; caller ID is never passed to it, so it is never a verification factor.
- `gather`: what the caller said (`SpeechResult`) or keyed (`Digits`). A single digit chooses one
  of the spoken choices the previous turn offered.
- `silence?count=N`: no input. Reprompted twice, then a caseworker is offered.
- `pending?turn=ID&poll=N`: the dialogue took longer than `VOICE_REPLY_TIMEOUT_SECONDS`; the caller
  heard "one moment" and Twilio polls here until the turn is done (read from the tracker store,
  so any replica can answer).
- `status`: the call's status callback; its end closes the conversation.

When the dialogue has created a handoff (the `utter_handoff_created` response), the caller is
put through with `<Dial>` (`VOICE_TRANSFER_TO`, a number or SIP address) or `<Enqueue>`.

While the dialogue asks for a case number or a birth date (the tracker's `requested_slot`), the
recogniser gets hints for digits or dates, and a value heard in speech is read back first ("Jeg
hørte 1 0 0 0 0 1. Stemmer det?"): yes (or key 1) passes the normalised value to the dialogue, no
(or key 2) asks again. Keyed digits need no read-back. What awaits confirmation is kept in this
replica's memory for a few minutes (never in the tracker, never logged): a call's webhooks reach
the replica that answered the previous one as long as Twilio's requests are sticky; if not, the
caller is simply asked again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlencode

from babel.dates import format_date, get_month_names
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, Restarted
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import VoiceResponse

from bot.channels.common import (
    Reply,
    ReplyCollector,
    choice_payload,
    form_value,
    handed_off,
    language_of,
    render,
    tracker_of,
    turn_replies,
    twilio_signature_valid,
)
from bot.channels.conversation_ids import voice_conversation_id
from bot.channels.limits import MAX_MESSAGE_CHARACTERS, TOO_LONG_RESPONSE, too_long
from bot.config import Settings, load_settings
from bot.nlu.entity_extractor import extract_entities, reference_today

log = logging.getLogger(__name__)

CHANNEL = "twilio_voice"
PREFIX = "/webhooks/twilio_voice"
GREETING = "/greet"  # a call opens like a chat that says hello
MAX_SILENT_REPROMPTS = 2
MAX_POLLS = 30  # about a minute of "one moment" before giving up on a turn
POLL_WAIT_SECONDS = 2.0
CALL_ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}
LANGUAGES = {"nb": "nb-NO", "en": "en-US"}
# Words of this domain the recogniser should expect (not said to anyone).
HINTS = {
    "nb": "saksnummer,fødselsdato,fødselsnummer,saksbehandler,betalingsavtale,nedbetalingsplan,utsettelse,"
    "inkasso,inkassovarsel,betalingsoppfordring,gebyr,renter,faktura,kontonummer,KID,personvern",
    "en": "case number,date of birth,national identity number,caseworker,payment plan,postponement,"
    "debt collection,fee,interest,invoice,account number,KID,privacy",
}
# What the caller is expected to say next: digits for a case number, a date for a birth date, and
# yes or no after a read-back. Put before the domain words; recognisers weigh early hints no less.
_NB_ORDINALS = "første andre tredje fjerde femte sjette sjuende åttende niende".split()
_EN_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth".split()


def _month_names(locale: str) -> list[str]:
    return list(get_month_names("wide", "format", locale).values())


EXPECTED_HINTS = {
    "case_number": {
        "nb": "saksnummer,null,en,to,tre,fire,fem,seks,sju,åtte,ni,hundre,tusen",
        "en": "case number,zero,oh,one,two,three,four,five,six,seven,eight,nine,hundred,thousand",
    },
    "birth_date": {
        "nb": ",".join(
            [
                *_month_names("nb"),
                *_NB_ORDINALS,
                *"tiende ellevte tolvte trettende fjortende femtende sekstende syttende attende nittende".split(),
                "tjuende",
                *(f"tjue{ordinal}" for ordinal in _NB_ORDINALS),
                "trettiende",
                "trettiførste",
                "nitten",
                "to tusen",
            ]
        ),
        "en": ",".join(
            [
                *_month_names("en"),
                *_EN_ORDINALS,
                *"tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth".split(),
                "eighteenth",
                "nineteenth",
                "twentieth",
                *(f"twenty {ordinal}" for ordinal in _EN_ORDINALS),
                "thirtieth",
                "thirty first",
                "nineteen",
                "two thousand",
            ]
        ),
    },
    "confirm": {"nb": "ja,nei,det stemmer,stemmer ikke,feil", "en": "yes,no,that's right,that is wrong"},
}
READ_BACK_SLOTS = ("case_number", "birth_date")  # requested slots whose spoken value is read back
ASK_AGAIN = {"case_number": "utter_ask_case_number", "birth_date": "utter_ask_birth_date"}
CONFIRM_KEYS = {"1": True, "2": False}
READ_BACK_SECONDS = 300


@dataclass(frozen=True)
class Heard:
    """A case number or birth date recognised in speech, waiting for the caller's yes."""

    slot: str
    value: str  # the entity's normalised value: digits, or an ISO date
    expires: float

    def message(self) -> str:
        """The text the dialogue gets once confirmed: as if the caller had keyed it."""
        if self.slot == "birth_date":
            return date.fromisoformat(self.value).strftime("%d.%m.%Y")
        return self.value

    def spoken(self, language: str) -> str:
        """How the read-back says it: digit by digit, or the date in words."""
        if self.slot == "birth_date":
            pattern = "MMMM d, y" if language == "en" else "d. MMMM y"
            return format_date(date.fromisoformat(self.value), pattern, locale=language)
        return " ".join(self.value)


def heard_in_speech(requested_slot: Optional[str], speech: str) -> Optional[Heard]:
    """The value of the kind the dialogue asked for, if the speech holds one."""
    if requested_slot not in READ_BACK_SLOTS:
        return None
    for entity in extract_entities(speech, reference_today()):
        if entity["entity"] == requested_slot:
            return Heard(requested_slot, str(entity["value"]), time.monotonic() + READ_BACK_SECONDS)
    return None


def twiml(voice_response: VoiceResponse) -> HTTPResponse:
    return response.text(str(voice_response), content_type="text/xml")


class TwilioVoiceInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        return cls(load_settings())

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Turns still running after their webhook answered "one moment" (this replica's only).
        self._running: dict[str, tuple[asyncio.Task, ReplyCollector]] = {}
        # Values heard in speech and read back, by conversation, until the caller says yes or no.
        self._heard: dict[str, Heard] = {}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("twilio_voice_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def incoming_call(request: Request) -> HTTPResponse:
            sender_id = self._verified_call(request)
            if sender_id is None:
                return response.text("forbidden", status=403)
            return await self._turn(request.app.ctx.agent, sender_id, GREETING, on_new_message)

        @hook.route("/gather", methods=["POST"])
        async def gathered(request: Request) -> HTTPResponse:
            sender_id = self._verified_call(request)
            if sender_id is None:
                return response.text("forbidden", status=403)
            agent = request.app.ctx.agent
            digits, speech = form_value(request, "Digits"), form_value(request, "SpeechResult")
            if not digits and not speech:
                return await self._silence(agent, sender_id, 1)
            text = digits or speech
            if too_long(text):
                tracker = await tracker_of(agent, sender_id)
                prompt = Reply(
                    text=await render(agent, tracker, TOO_LONG_RESPONSE, CHANNEL, max_characters=MAX_MESSAGE_CHARACTERS)
                )
                return self._gather_twiml([prompt], tracker, agent, silence_count=0, choices=[])
            heard = self._heard.pop(sender_id, None)
            if heard is not None and heard.expires > time.monotonic():
                if digits in CONFIRM_KEYS or not digits:
                    return await self._confirmed(agent, sender_id, heard, digits, speech, on_new_message)
            if digits:
                text = choice_payload(await tracker_of(agent, sender_id), digits) or digits
            else:
                tracker = await tracker_of(agent, sender_id)
                heard = heard_in_speech(tracker.get_slot("requested_slot"), speech)
                if heard is not None:
                    return await self._read_back(agent, tracker, sender_id, heard)
            return await self._turn(agent, sender_id, text, on_new_message)

        @hook.route("/silence", methods=["POST"])
        async def silence(request: Request) -> HTTPResponse:
            sender_id = self._verified_call(request)
            if sender_id is None:
                return response.text("forbidden", status=403)
            count = _int(request.args.get("count"), 1)
            return await self._silence(request.app.ctx.agent, sender_id, count)

        @hook.route("/pending", methods=["POST"])
        async def pending(request: Request) -> HTTPResponse:
            sender_id = self._verified_call(request)
            if sender_id is None:
                return response.text("forbidden", status=403)
            turn_id = request.args.get("turn") or ""
            poll = _int(request.args.get("poll"), 1)
            return await self._poll(request.app.ctx.agent, sender_id, turn_id, poll)

        @hook.route("/status", methods=["POST"])
        async def call_status(request: Request) -> HTTPResponse:
            sender_id = self._verified_call(request)
            if sender_id is None:
                return response.text("forbidden", status=403)
            if form_value(request, "CallStatus") in CALL_ENDED:
                await self._close(request.app.ctx.agent, sender_id)
            return response.text("", status=204)

        return hook

    def _verified_call(self, request: Request) -> Optional[str]:
        if not twilio_signature_valid(request, self.settings.twilio_auth_token, self.settings.public_base_url):
            log.warning("voice webhook: missing or invalid Twilio signature")
            return None
        return voice_conversation_id(form_value(request, "CallSid"))

    # --- turns -----------------------------------------------------------------------------

    async def _turn(self, agent, sender_id: str, text: str, on_new_message) -> HTTPResponse:
        """Hand `text` to the dialogue; answer with its replies, or with "one moment" and a poll
        when it takes longer than Twilio should wait."""
        turn_id = uuid.uuid4().hex
        collector = ReplyCollector(CHANNEL)
        message = UserMessage(text, collector, sender_id, input_channel=CHANNEL, message_id=turn_id, metadata={})
        task = asyncio.ensure_future(on_new_message(message))
        done, _ = await asyncio.wait({task}, timeout=self.settings.voice_reply_timeout_seconds)
        if task in done:
            if task.exception() is not None:
                log.error("voice turn failed: %s", type(task.exception()).__name__)
                return await self._technical_problem(agent, sender_id)
            return await self._answer(agent, sender_id, collector.replies)
        self._running[turn_id] = (task, collector)
        task.add_done_callback(lambda _: asyncio.get_event_loop().call_later(120, self._running.pop, turn_id, None))
        return await self._one_moment(agent, sender_id, turn_id, 1)

    async def _poll(self, agent, sender_id: str, turn_id: str, poll: int) -> HTTPResponse:
        running = self._running.get(turn_id)
        if running is not None:
            task, collector = running
            done, _ = await asyncio.wait({task}, timeout=POLL_WAIT_SECONDS)
            if task in done:
                self._running.pop(turn_id, None)
                return await self._answer(agent, sender_id, collector.replies)
        else:
            replies = turn_replies(await agent.tracker_store.retrieve_full_tracker(sender_id), turn_id)
            if replies is not None:
                return await self._answer(agent, sender_id, replies)
        if poll >= MAX_POLLS:
            return await self._technical_problem(agent, sender_id)
        return await self._one_moment(agent, sender_id, turn_id, poll + 1, say=False)

    async def _silence(self, agent, sender_id: str, count: int) -> HTTPResponse:
        tracker = await tracker_of(agent, sender_id)
        if count <= MAX_SILENT_REPROMPTS:
            prompt = Reply(text=await render(agent, tracker, "utter_voice_no_input", CHANNEL))
            return self._gather_twiml([prompt], tracker, agent, silence_count=count, choices=[])
        if count == MAX_SILENT_REPROMPTS + 1:
            # Offer a person through the dialogue itself, so that "yes" is understood as accepting.
            collector = ReplyCollector(CHANNEL)
            async with agent.lock_store.lock(sender_id):
                await agent.execute_action(sender_id, "utter_offer_caseworker", collector, None, None)
                await agent.execute_action(sender_id, "action_listen", collector, None, None)
            return await self._answer(agent, sender_id, collector.replies, silence_count=count)
        voice_response = VoiceResponse()
        self._say(voice_response, await render(agent, tracker, "utter_goodbye", CHANNEL), language_of(tracker))
        voice_response.hangup()
        return twiml(voice_response)

    async def _read_back(self, agent, tracker, sender_id: str, heard: Heard) -> HTTPResponse:
        now = time.monotonic()
        for stale in [call for call, waiting in self._heard.items() if waiting.expires <= now]:
            del self._heard[stale]  # calls that ended without a status callback
        self._heard[sender_id] = heard
        text = await render(agent, tracker, "utter_voice_read_back", CHANNEL, heard=heard.spoken(language_of(tracker)))
        return self._gather_twiml([Reply(text=text)], tracker, agent, silence_count=0, choices=[], expecting="confirm")

    async def _confirmed(self, agent, sender_id: str, heard: Heard, digits: str, speech: str, on_new_message):
        """The caller's answer to a read-back: yes passes the value on; no, or anything unclear,
        asks the dialogue's question again; a new value of the same kind is read back in turn."""
        if digits:
            agreed = CONFIRM_KEYS[digits]
        else:
            intent = ((await agent.parse_message(speech)).get("intent") or {}).get("name")
            agreed = intent == "affirm"
            if intent != "deny" and not agreed:
                again = heard_in_speech(heard.slot, speech)
                if again is not None:
                    return await self._read_back(agent, await tracker_of(agent, sender_id), sender_id, again)
        if agreed:
            return await self._turn(agent, sender_id, heard.message(), on_new_message)
        tracker = await tracker_of(agent, sender_id)
        question = Reply(text=await render(agent, tracker, ASK_AGAIN[heard.slot], CHANNEL))
        return self._gather_twiml([question], tracker, agent, silence_count=0, choices=[])

    async def _close(self, agent, sender_id: str) -> None:
        """The call has ended: so has its conversation (verification included)."""
        self._heard.pop(sender_id, None)
        async with agent.lock_store.lock(sender_id):
            tracker = await agent.tracker_store.retrieve(sender_id)
            if tracker is None:
                return
            tracker.update(Restarted())
            tracker.update(ActionExecuted("action_listen"))
            await agent.tracker_store.save(tracker)
        log.info("voice call ended; conversation closed")

    # --- TwiML -----------------------------------------------------------------------------

    async def _answer(self, agent, sender_id: str, replies: list[Reply], silence_count: int = 0) -> HTTPResponse:
        tracker = await tracker_of(agent, sender_id)
        if handed_off(replies):
            return await self._transfer(agent, tracker, replies)
        choices = []
        for reply in replies:
            for digit, button in enumerate(reply.buttons, start=1):
                choices.append(
                    await render(
                        agent, tracker, "utter_voice_choice", CHANNEL, digit=digit, choice=button.get("title", "")
                    )
                )
        return self._gather_twiml(replies, tracker, agent, silence_count=silence_count, choices=choices)

    def _gather_twiml(
        self, replies, tracker, agent, *, silence_count: int, choices: list[str], expecting: Optional[str] = None
    ) -> HTTPResponse:
        language = language_of(tracker)
        expecting = expecting or tracker.get_slot("requested_slot")
        hints = HINTS[language]
        if expecting in EXPECTED_HINTS:
            hints = f"{EXPECTED_HINTS[expecting][language]},{hints}"
        voice_response = VoiceResponse()
        gather = voice_response.gather(
            input="speech dtmf",
            action=f"{PREFIX}/gather",
            method="POST",
            language=LANGUAGES[language],
            speech_model=self.settings.voice_speech_model,
            speech_timeout="auto",
            timeout=5,
            finish_on_key="#",
            hints=hints,
            action_on_empty_result=False,
        )
        for reply in replies:
            if reply.text:
                self._say(gather, reply.text, language)
        for choice in choices:
            self._say(gather, choice, language)
        # Twilio goes on here only when the caller said and keyed nothing.
        voice_response.redirect(f"{PREFIX}/silence?{urlencode({'count': silence_count + 1})}", method="POST")
        return twiml(voice_response)

    async def _transfer(self, agent, tracker, replies: list[Reply]) -> HTTPResponse:
        language = language_of(tracker)
        voice_response = VoiceResponse()
        for reply in replies:
            if reply.text:
                self._say(voice_response, reply.text, language)
        self._say(voice_response, await render(agent, tracker, "utter_voice_transfer", CHANNEL), language)
        target = self.settings.voice_transfer_to
        if target.startswith("sip:"):
            voice_response.dial().sip(target)
        elif target:
            voice_response.dial(target)
        else:
            voice_response.enqueue(self.settings.voice_transfer_queue)
        return twiml(voice_response)

    async def _one_moment(self, agent, sender_id: str, turn_id: str, poll: int, *, say: bool = True) -> HTTPResponse:
        voice_response = VoiceResponse()
        if say:
            tracker = await tracker_of(agent, sender_id)
            self._say(
                voice_response, await render(agent, tracker, "utter_voice_one_moment", CHANNEL), language_of(tracker)
            )
        voice_response.pause(length=1)
        voice_response.redirect(f"{PREFIX}/pending?{urlencode({'turn': turn_id, 'poll': poll})}", method="POST")
        return twiml(voice_response)

    async def _technical_problem(self, agent, sender_id: str) -> HTTPResponse:
        tracker = await tracker_of(agent, sender_id)
        voice_response = VoiceResponse()
        self._say(
            voice_response,
            await render(
                agent, tracker, "utter_voice_technical_problem", CHANNEL, agency_phone=self.settings.agency_phone
            ),
            language_of(tracker),
        )
        voice_response.hangup()
        return twiml(voice_response)

    def _say(self, verb, text: str, language: str) -> None:
        voice = self.settings.voice_name_en if language == "en" else self.settings.voice_name
        verb.say(text, voice=voice, language=LANGUAGES[language])


def _int(value: Optional[str], default: int) -> int:
    try:
        return max(1, int(value)) if value is not None else default
    except ValueError:
        return default
