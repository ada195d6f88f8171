"""The one client of the case system's API used by actions (and the SMS channel).

Answers are parsed into the API contract's own response models (bot/case_system/contract), so an
action reads `case.balance`, typed, and an answer that is not the contract's is a failure of the
case system, like a 5xx. Reads are retried on connection errors, 5xx answers and such answers;
writes are never retried, because a verification attempt or a handoff must not be sent twice. Log
lines carry the route template, status and duration only: never identity numbers, birth dates,
names or phone numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Optional, Union

import aiohttp
from pydantic import parse_obj_as

from bot.case_system.contract import responses as api
from bot.config import Settings

logger = logging.getLogger(__name__)

READ_RETRY_DELAYS = (0.05, 0.2)  # seconds before the second and third try


class CaseSystemUnavailable(Exception):
    """The case system could not be reached or answered with a server error."""


class CaseSystemRejected(Exception):
    """The case system refused the request (4xx); `code` is its machine-readable error code."""

    def __init__(self, status: int, code: str, details: Optional[dict[str, Any]] = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.details = details or {}  # the error object's other fields (e.g. latest_date)


@dataclass(frozen=True)
class Caller:
    """Who reads personal data and why: written to the case system's audit trail."""

    conversation_id: str
    channel: str
    purpose: str

    def headers(self) -> dict[str, str]:
        return {
            "X-Actor": f"assistant:{self.channel}",
            "X-Purpose": self.purpose,
            "X-Conversation-Id": self.conversation_id,
        }


VerificationAnswer = Union[api.VerificationVerified, api.VerificationRefused]


class CaseSystemClient:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "CaseSystemClient":
        return cls(settings.case_api_url, settings.case_api_key, settings.case_api_timeout_seconds)

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily so that it belongs to the event loop of the server that uses it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"Authorization": f"Bearer {self._api_key}"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        route: str,
        *,
        path: str,
        caller: Optional[Caller] = None,
        json: Any = None,
        params: Optional[dict[str, str]] = None,
        answer: Any = None,
    ) -> Any:
        """The answer parsed as `answer` (a response model, or a type such as a Union of them);
        the JSON as it came when `answer` is None."""
        delays = READ_RETRY_DELAYS if method == "GET" else ()
        for attempt in range(len(delays) + 1):
            started = time.perf_counter()
            try:
                async with self._http().request(
                    method,
                    f"{self.base_url}{path}",
                    json=json,
                    params=params,
                    headers=caller.headers() if caller else None,
                ) as response:
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    logger.debug("case system %s %s -> %s in %.1f ms", method, route, response.status, elapsed_ms)
                    if response.status < 400:
                        data = await response.json()
                        # A ValidationError is a ValueError: an answer off the contract is a failure.
                        return data if answer is None else parse_obj_as(answer, data)
                    if response.status < 500:
                        body = await response.json(content_type=None)
                        error = (body or {}).get("error", {}) or {}
                        raise CaseSystemRejected(response.status, error.get("code", "unknown"), error)
                    failure = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                failure = type(error).__name__
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        logger.warning("case system %s %s failed: %s", method, route, failure)
        raise CaseSystemUnavailable(f"{method} {route}: {failure}")

    async def health(self) -> api.Health:
        return await self._request("GET", "/health", path="/health", answer=api.Health)

    async def verify(
        self,
        *,
        case_number: str,
        caller: Caller,
        birth_date: Optional[str] = None,
        national_id: Optional[str] = None,
        phone: Optional[str] = None,
    ) -> VerificationAnswer:
        """Verified (with the debtor's open cases), or the uniform refusal (`refused` or `locked`)."""
        body = {
            "case_number": case_number,
            "birth_date": birth_date,
            "national_id": national_id,
            "channel": caller.channel,
            "conversation_id": caller.conversation_id,
            "phone": phone,
        }
        return await self._request(
            "POST", "/verifications", path="/verifications", caller=caller, json=body, answer=VerificationAnswer
        )

    async def get_case(self, case_number: str, *, caller: Caller) -> api.Case:
        return await self._request(
            "GET", "/cases/{case_number}", path=f"/cases/{case_number}", caller=caller, answer=api.Case
        )

    async def create_handoff(self, handoff: dict[str, Any], *, caller: Caller) -> api.HandoffCreated:
        """The handoff, with when a caseworker will answer (`expected_answer_by`)."""
        return await self._request(
            "POST", "/handoffs", path="/handoffs", caller=caller, json=handoff, answer=api.HandoffCreated
        )

    async def record_debtor_message(
        self, conversation_id: str, text: str, at: str, *, caller: Caller
    ) -> dict[str, Any]:
        """A debtor's message in a conversation a caseworker has taken (the assistant is silent),
        for the caseworker's console (bot/caseworker_relay.py)."""
        return await self._request(
            "POST",
            "/conversations/{conversation_id}/debtor-messages",
            path=f"/conversations/{conversation_id}/debtor-messages",
            caller=caller,
            json={"text": text, "at": at},
        )

    # --- SMS channel (bot/channels/twilio_sms.py) ---------------------------------------------

    async def record_inbound_sms(
        self, *, message_sid: str, from_phone: str, body: str, opt_out_type: Optional[str], caller: Caller
    ) -> dict[str, Any]:
        """Whether the message is a retry, and what it changed about consent (STOP/START)."""
        payload = {"message_sid": message_sid, "from_phone": from_phone, "body": body, "opt_out_type": opt_out_type}
        return await self._request("POST", "/sms/inbound", path="/sms/inbound", caller=caller, json=payload)

    async def enqueue_sms(self, *, to_phone: str, body: str, purpose: str, caller: Caller) -> dict[str, Any]:
        payload = {"to_phone": to_phone, "body": body, "purpose": purpose}
        return await self._request("POST", "/sms/outbox", path="/sms/outbox", caller=caller, json=payload)

    async def record_sms_status(
        self, *, provider_id: str, status: str, error_code: Optional[str], caller: Caller
    ) -> dict[str, Any]:
        payload = {"provider_id": provider_id, "status": status, "error_code": error_code}
        return await self._request("POST", "/sms/status", path="/sms/status", caller=caller, json=payload)

    async def create_rights_request(
        self, rights_request: dict[str, Any], *, caller: Caller
    ) -> api.RightsRequestCreated:
        """Logs a GDPR rights request; the answer holds its reference (`id`) and `due_date`."""
        return await self._request(
            "POST",
            "/rights-requests",
            path="/rights-requests",
            caller=caller,
            json=rights_request,
            answer=api.RightsRequestCreated,
        )

    # --- payments, postponements, disputes, fee reviews -----------------------------------------

    async def quote_payment_plan(
        self, case_number: str, proposal: dict[str, Any], *, caller: Caller
    ) -> api.PlanQuoteAnswer:
        """The case system's quote for `proposal` (monthly_amount as a string, months, first_due_date)."""
        return await self._request(
            "POST",
            "/cases/{case_number}/payment-plans/quote",
            path=f"/cases/{case_number}/payment-plans/quote",
            caller=caller,
            json=proposal,
            answer=api.PlanQuoteAnswer,
        )

    async def create_payment_plan(
        self, case_number: str, terms: dict[str, Any], *, caller: Caller, language: str
    ) -> api.PlanCreated:
        """Create the plan the debtor accepted; a repeat of the same request returns the same plan."""
        body = {
            **terms,
            "accepted": True,
            "channel": caller.channel,
            "conversation_id": caller.conversation_id,
            "language": language,
        }
        return await self._request(
            "POST",
            "/cases/{case_number}/payment-plans",
            path=f"/cases/{case_number}/payment-plans",
            caller=caller,
            json=body,
            answer=api.PlanCreated,
        )

    async def list_payment_plans(self, case_number: str, *, caller: Caller) -> list[api.PaymentPlan]:
        answer = await self._request(
            "GET",
            "/cases/{case_number}/payment-plans",
            path=f"/cases/{case_number}/payment-plans",
            caller=caller,
            answer=api.PaymentPlanList,
        )
        return answer.payment_plans

    async def create_postponement(self, case_number: str, new_due_date: str, *, caller: Caller) -> api.Postponement:
        body = {"new_due_date": new_due_date, "channel": caller.channel, "conversation_id": caller.conversation_id}
        return await self._request(
            "POST",
            "/cases/{case_number}/postponements",
            path=f"/cases/{case_number}/postponements",
            caller=caller,
            json=body,
            answer=api.Postponement,
        )

    async def create_dispute(self, case_number: str, reason: str, *, caller: Caller) -> api.Dispute:
        body = {"reason": reason, "channel": caller.channel, "conversation_id": caller.conversation_id}
        return await self._request(
            "POST",
            "/cases/{case_number}/disputes",
            path=f"/cases/{case_number}/disputes",
            caller=caller,
            json=body,
            answer=api.Dispute,
        )

    async def request_fee_review(self, case_number: str, *, caller: Caller) -> api.FeeReview:
        body = {"channel": caller.channel, "conversation_id": caller.conversation_id}
        return await self._request(
            "POST",
            "/cases/{case_number}/fee-reviews",
            path=f"/cases/{case_number}/fee-reviews",
            caller=caller,
            json=body,
            answer=api.FeeReview,
        )
