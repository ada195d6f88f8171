"""An agency's own contact-centre product can follow handoffs through a signed webhook.

When `HANDOFF_WEBHOOK_URL` is set, every handoff created, taken, returned or resolved is POSTed
there as JSON, signed with `X-Debtbot-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed
with HANDOFF_WEBHOOK_SECRET>`. The body names the handoff and its state, not the conversation's
content: the receiver reads that through the API with its key. Delivery runs in the background
with a short timeout and is never retried: a failure is logged and never holds up the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any, Optional

import aiohttp

from bot.case_system.contract.fields import timestamp
from bot.case_system.store.models import Handoff

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Debtbot-Signature"
TIMEOUT_SECONDS = 5.0


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload(event: str, handoff: Handoff, *, at: datetime, taken_by: Optional[str] = None) -> dict[str, Any]:
    return {
        "event": event,
        "at": timestamp(at),
        "handoff": {
            "id": handoff.id,
            "conversation_id": handoff.conversation_id,
            "channel": handoff.channel.value,
            "reason": handoff.reason,
            "priority": handoff.priority.value,
            "status": handoff.status.value,
            "case_number": handoff.case_number,
            "taken_by": taken_by,
            "outcome": handoff.outcome.value if handoff.outcome is not None else None,
        },
    }


class HandoffWebhook:
    def __init__(self, url: str, secret: str, *, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._tasks: set[asyncio.Task] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, event: str, handoff: Handoff, *, at: datetime, taken_by: Optional[str] = None) -> None:
        """Deliver in the background (the request does not wait)."""
        if not self.enabled:
            return
        body = json.dumps(payload(event, handoff, at=at, taken_by=taken_by), ensure_ascii=False).encode("utf-8")
        task = asyncio.get_running_loop().create_task(self._deliver(event, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(self._secret, body)}
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(self.url, data=body, headers=headers) as response:
                    if response.status >= 300:
                        log.warning("handoff webhook %s answered %d", event, response.status)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("handoff webhook %s failed: %s", event, type(error).__name__)

    async def drain(self) -> None:
        """Wait for deliveries under way (on shutdown, and in tests)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
