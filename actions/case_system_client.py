"""The one client of the case system's API used by actions.

Reads are retried on connection errors and 5xx answers; writes are never retried, because a
verification attempt or a handoff must not be sent twice. Log lines carry the route template,
status and duration only: never identity numbers, birth dates, names or phone numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Optional

import aiohttp

from bot.config import Settings

logger = logging.getLogger(__name__)

READ_RETRY_DELAYS = (0.05, 0.2)  # seconds before the second and third try


class CaseSystemUnavailable(Exception):
    """The case system could not be reached or answered with a server error."""


class CaseSystemRejected(Exception):
    """The case system refused the request (4xx); `code` is its machine-readable error code."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


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


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    outcome: str  # "verified", "refused" or "locked"
    case_numbers: tuple[str, ...] = ()
    verified_case_number: Optional[str] = None
    language: Optional[str] = None
    locked_until: Optional[str] = None


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
    ) -> Any:
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
                        return await response.json()
                    if response.status < 500:
                        body = await response.json(content_type=None)
                        code = (body or {}).get("error", {}).get("code", "unknown")
                        raise CaseSystemRejected(response.status, code)
                    failure = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                failure = type(error).__name__
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        logger.warning("case system %s %s failed: %s", method, route, failure)
        raise CaseSystemUnavailable(f"{method} {route}: {failure}")

    async def health(self) -> dict[str, Any]:
        return await self._request("GET", "/health", path="/health")

    async def verify(
        self,
        *,
        case_number: str,
        caller: Caller,
        birth_date: Optional[str] = None,
        national_id: Optional[str] = None,
        phone: Optional[str] = None,
    ) -> VerificationResult:
        body = {
            "case_number": case_number,
            "birth_date": birth_date,
            "national_id": national_id,
            "channel": caller.channel,
            "conversation_id": caller.conversation_id,
            "phone": phone,
        }
        data = await self._request(
            "POST", "/verifications", path="/verifications", caller=caller, json=body
        )
        if data.get("verified"):
            return VerificationResult(
                verified=True,
                outcome="verified",
                case_numbers=tuple(data.get("case_numbers", ())),
                verified_case_number=data.get("verified_case_number", case_number),
                language=(data.get("debtor") or {}).get("language"),
            )
        return VerificationResult(
            verified=False,
            outcome="locked" if data.get("outcome") == "locked" else "refused",
            locked_until=data.get("locked_until"),
        )

    async def get_case(self, case_number: str, *, caller: Caller) -> dict[str, Any]:
        return await self._request(
            "GET", "/cases/{case_number}", path=f"/cases/{case_number}", caller=caller
        )

    async def create_handoff(self, handoff: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        return await self._request("POST", "/handoffs", path="/handoffs", caller=caller, json=handoff)
