"""GDPR rights requests and privacy-notice answers: log the request, tell the debtor what happens.

The case system decides what a request does (an objection stops marketing, human review creates a
handoff, access produces an export) and whether the conversation's verification counts; this
action only passes on what the debtor asked, in their words, and answers with the reference and
the statutory deadline. Someone whose identity is not confirmed is told how it will be confirmed
and is shown nothing about themselves.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, channel_of, language_of, transcript
from actions.formatting import day
from actions.handoff import ask_for_contact, needs_contact
from actions.services import case_system, settings
from bot.case_system.contract.enums import RightsRequestType
from bot.redaction import redact_text

RIGHTS = tuple(kind.value for kind in RightsRequestType)
FORGET = [SlotSet("rights_type", None), SlotSet("rectification_wrong", None), SlotSet("rectification_right", None)]


def requested_right(tracker: Tracker) -> Optional[str]:
    """The right asked for: the slot set by the rights intent, else the latest intent."""
    kind = tracker.get_slot("rights_type")
    if kind in RIGHTS:
        return kind
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    return intent[len("rights_") :] if intent.startswith("rights_") and intent[len("rights_") :] in RIGHTS else None


def request_message(tracker: Tracker, kind: str) -> Optional[dict[str, Any]]:
    """The debtor's message that made the request (the latest with its intent)."""
    for event in reversed(tracker.events):
        if (
            event.get("event") == "user"
            and (event.get("parse_data") or {}).get("intent", {}).get("name") == f"rights_{kind}"
        ):
            return event
    return None


def _words(value: Any) -> Optional[str]:
    return redact_text(str(value)).strip() or None if value else None


class ActionLogRightsRequest(Action):
    def name(self) -> str:
        return "action_log_rights_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        kind = requested_right(tracker)
        if kind is None:
            dispatcher.utter_message(response="utter_default")
            return FORGET
        message = request_message(tracker, kind) or {}
        verified = bool(tracker.get_slot("verified")) and bool(tracker.get_slot("verified_case_number"))
        # The same request retried (a repeated webhook) is logged once.
        key_source = f"{tracker.sender_id}\x1f{message.get('timestamp')}\x1f{kind}"
        body: dict[str, Any] = {
            "type": kind,
            "channel": channel_of(tracker),
            "conversation_id": tracker.sender_id,
            "request_text": _words(message.get("text")),
            "idempotency_key": hashlib.sha256(key_source.encode()).hexdigest(),
        }
        if verified:
            body["case_number"] = tracker.get_slot("verified_case_number")
        if kind == "rectification":
            body["rectification_wrong"] = _words(tracker.get_slot("rectification_wrong"))
            body["rectification_right"] = _words(tracker.get_slot("rectification_right"))
        if kind == "human_review":
            body["transcript"] = transcript(tracker)

        caller = caller_for(tracker, purpose="rights_request")
        try:
            try:
                logged = await case_system().create_rights_request(body, caller=caller)
            except CaseSystemRejected as rejected:
                if rejected.code != "case_not_verified" or "case_number" not in body:
                    raise
                # The case system no longer accepts this conversation's verification (it is
                # older than it trusts): log the request as not yet confirmed rather than lose it.
                body.pop("case_number")
                logged = await case_system().create_rights_request(body, caller=caller)
        except (CaseSystemUnavailable, CaseSystemRejected):
            dispatcher.utter_message(response="utter_rights_request_failed", agency_phone=settings().agency_phone)
            return FORGET

        language = language_of(tracker)
        values = {"reference": logged.id, "due_date": day(logged.due_date, language)}
        response = f"utter_rights_{kind}"
        if kind == "objection" and not logged.effects.marketing_objection:
            response = "utter_rights_objection_unverified"
        dispatcher.utter_message(response=response, **values)
        if not logged.verified:
            dispatcher.utter_message(response="utter_rights_identity_unconfirmed", agency_phone=settings().agency_phone)
            if needs_contact(tracker):
                # So that the caseworker who confirms the identity can reach them (a handoff).
                return [*FORGET, *ask_for_contact("rights_request")]
        return FORGET


class ActionSetPrivacyNoticeUrl(Action):
    """Puts the privacy notice's address (from configuration) where the privacy answers can use it."""

    def name(self) -> str:
        return "action_set_privacy_notice_url"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [SlotSet("privacy_notice_url", settings().privacy_notice_url)]
