"""The REST channel at `/webhooks/rest/webhook`, namespaced so that it cannot join another
channel's conversation.

Rasa's own REST channel takes the conversation id, the input channel's name and any metadata
from the caller. Here the id is always under `rest-`, the channel is always `rest`, and only a
language hint passes as metadata: an open endpoint must not pose as the SMS channel and its
`sender_phone` verification factor.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.channels.rest import RestInput
from sanic.exceptions import SanicException
from sanic.request import Request

from bot.channels.conversation_ids import rest_conversation_id

ALLOWED_METADATA = {"language"}


class NamespacedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[str]:
        body = req.json if isinstance(req.json, dict) else {}
        sender = rest_conversation_id(body.get("sender", "default"))
        if sender is None:
            raise SanicException("sender must be 1 to 150 letters, digits or _ . : @ -", status_code=400)
        return sender

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[dict[str, Any]]:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            return None
        return {key: value for key, value in metadata.items() if key in ALLOWED_METADATA} or None
