"""What the channels share: collecting Rasa's replies, Twilio signatures, and reading the
conversation (for numbered choices and for channel texts rendered from the domain)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qsl

from multidict import MultiDict
from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic.request import Request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

HANDOFF_RESPONSE = "utter_handoff_created"  # the dialogue has handed the conversation to a person
RETURNED_RESPONSE = "utter_caseworker_returned"  # a caseworker has handed it back to the assistant
CASEWORKER = "caseworker"  # a message's `from` when a caseworker wrote it (the backoffice sends it)
CHOICE_DIGIT = re.compile(r"\s*([1-9])\s*[.)]?\s*")


@dataclass
class Reply:
    """One message of the assistant's turn, as the domain response produced it, or a caseworker's
    message in a conversation they have taken over."""

    text: str = ""
    buttons: list[dict[str, Any]] = field(default_factory=list)
    response: Optional[str] = None  # the domain response's name, e.g. utter_handoff_created
    caseworker_name: Optional[str] = None  # set when a caseworker wrote it

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "Reply":
        buttons = message.get("buttons") or message.get("quick_replies") or []
        by_caseworker = message.get("from") == CASEWORKER
        return cls(
            text=message.get("text") or "",
            buttons=list(buttons),
            response=message.get("utter_action"),
            caseworker_name=(message.get("caseworker_name") or "") if by_caseworker else None,
        )


class ReplyCollector(OutputChannel):
    """Collects a turn's replies whole (text, buttons and which response made them).

    Its name is the input channel's, so that the domain's `channel:` variations apply (the voice
    channel's "tast saksnummeret").
    """

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self.replies: list[Reply] = []

    def name(self) -> str:  # type: ignore[override]  # an instance's name, not the class's
        return self.channel_name

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        reply = Reply.from_message(message)
        if reply.text or reply.buttons:
            self.replies.append(reply)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.replies.append(Reply(text=text))


def handed_off(replies: list[Reply]) -> bool:
    return any(reply.response == HANDOFF_RESPONSE for reply in replies)


# --- Twilio ------------------------------------------------------------------------------------


def twilio_signature_valid(request: Request, auth_token: str, public_base_url: str) -> bool:
    """Whether Twilio signed this request: HMAC-SHA1 of the public URL (as Twilio called it) and
    every posted parameter, keyed with the account's auth token. An unset token accepts nothing."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not auth_token or not signature:
        return False
    url = public_base_url + request.path + (f"?{request.query_string}" if request.query_string else "")
    return RequestValidator(auth_token).validate(url, posted_form(request), signature)


def posted_form(request: Request) -> MultiDict:
    """Every posted parameter, blank ones included: Twilio signs fields such as `FromZip=` too,
    and Sanic's own form parsing drops them."""
    form = getattr(request.ctx, "twilio_form", None)
    if form is None:
        body = request.body.decode("utf-8", errors="replace") if request.body else ""
        form = request.ctx.twilio_form = MultiDict(parse_qsl(body, keep_blank_values=True))
    return form


def form_value(request: Request, name: str) -> str:
    return (posted_form(request).get(name) or "").strip()


# --- the conversation --------------------------------------------------------------------------


async def tracker_of(agent, sender_id: str) -> DialogueStateTracker:
    """The conversation's tracker for a channel's own message; an empty one (the default
    language) when the tracker store cannot be read, so that the apology still goes out."""
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception as error:
        log.warning(
            "tracker store unreadable; answering without the conversation", extra={"error_type": type(error).__name__}
        )
        tracker = None
    if tracker is None:
        tracker = DialogueStateTracker(sender_id, agent.domain.slots)
    return tracker


def language_of(tracker: DialogueStateTracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "nb"


async def render(agent, tracker: DialogueStateTracker, response: str, channel: str, **values: Any) -> str:
    """A domain response's text in the conversation's language, for a channel's own messages
    (a picture-only SMS, a silent caller): the wording lives in the domain like every other."""
    generated = await agent.nlg.generate(response, tracker, channel, **values)
    if not generated or not generated.get("text"):
        raise LookupError(f"the domain has no text for {response}")
    return generated["text"]


def last_turn_buttons(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """The buttons the assistant offered in its latest turn (empty when that turn had none)."""
    buttons: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            buttons = list(event.data["buttons"])
            break
    return buttons


def choice_payload(tracker: DialogueStateTracker, text: str) -> Optional[str]:
    """The payload of the button a digit answer ("1", "2)") chooses, if the last turn had buttons."""
    match = CHOICE_DIGIT.fullmatch(text or "")
    if not match:
        return None
    buttons = last_turn_buttons(tracker)
    index = int(match.group(1)) - 1
    return buttons[index].get("payload") if index < len(buttons) else None


def turn_replies(tracker: DialogueStateTracker, message_id: str) -> Optional[list[Reply]]:
    """The assistant's replies to the user message `message_id`, once the turn is complete
    (the dialogue listens again); None while it is still running or unknown. Pass the full
    tracker: a new session's notice is logged before its SessionStarted event."""
    replies: list[Reply] = []
    since_user: list[Reply] = []  # bot messages since the previous user message
    session_started = False  # ... which belong to this turn only when a session started there
    found = False
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if found:
                break
            if event.message_id == message_id:
                found, replies = True, (since_user if session_started else [])
            since_user, session_started = [], False
        elif isinstance(event, BotUttered):
            (replies if found else since_user).append(Reply.from_message(event.message()))
        elif isinstance(event, SessionStarted) or (
            isinstance(event, ActionExecuted) and event.action_name == "action_session_start"
        ):
            session_started = True
        elif found and isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            return replies
    return None
