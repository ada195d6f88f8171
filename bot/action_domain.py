"""The domain travels to each action server once, not with every custom action call.

Rasa sends the whole domain (80 KB of JSON here, mostly the responses in two languages) with
every call: serialised by the dialogue server and parsed by the action server each time, about a
tenth of a verification turn's work. Here a call carries the domain's digest instead. An action
server that has not seen that digest (just started, or another version's model) answers 409
`domain_unknown`, and the dialogue server sends the call again with the domain, which the action
server keeps under its digest. Two versions side by side during a rolling update each get the
domain of their own model.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any, Dict, Optional, Text

from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import ClientResponseError

DIGEST_KEY = "domain_digest"
DOMAIN_UNKNOWN_STATUS = 409
DOMAIN_UNKNOWN = {"error": "domain_unknown"}
# Domains an action server keeps: the current model's and, during a rolling update, the next one.
KEPT_DOMAINS = 4


def domain_digest(domain: Domain) -> str:
    """The digest of `domain` as Rasa sends it; computed once per domain object (one a model)."""
    digest = domain.__dict__.get("_debtbot_digest")
    if digest is None:
        digest = digest_of(domain.as_dict())
        domain.__dict__["_debtbot_digest"] = digest
    return digest


def digest_of(domain_dict: Dict[Text, Any]) -> str:
    return hashlib.sha256(json.dumps(domain_dict, sort_keys=True).encode()).hexdigest()


class DomainOnDemand:
    """Stands in for the action endpoint of one call: sends it without the domain, and again with
    it when the action server does not know the digest."""

    def __init__(self, endpoint: Any, domain: Domain) -> None:
        self.kwargs = getattr(endpoint, "kwargs", {}) or {}
        self.url = getattr(endpoint, "url", None)
        self._endpoint = endpoint
        self._domain = domain

    async def request(self, *, json: Dict[Text, Any], **kwargs: Any) -> Optional[Dict[Text, Any]]:
        if "domain" not in json:
            try:
                return await self._endpoint.request(json=json, **kwargs)
            except ClientResponseError as error:
                if error.status != DOMAIN_UNKNOWN_STATUS:
                    raise
            json = {**json, "domain": self._domain.as_dict()}
        return await self._endpoint.request(json=json, **kwargs)


class DomainUnknown(Exception):
    """An action call named a domain digest this action server has not been sent."""


class KnownDomains:
    """The action server's side: the domains it was sent, by digest."""

    def __init__(self, keep: int = KEPT_DOMAINS) -> None:
        self._domains: OrderedDict[str, Dict[Text, Any]] = OrderedDict()
        self._keep = keep

    def complete(self, action_call: Dict[Text, Any]) -> None:
        """Gives `action_call` its domain: the one it names by digest, or the one it carries,
        which is then kept. Raises DomainUnknown when it names one this server was never sent."""
        digest = action_call.get(DIGEST_KEY)
        if not isinstance(digest, str):
            return  # a call as Rasa makes it: the domain, if any, is in it
        if "domain" in action_call:
            if digest not in self._domains and digest_of(action_call["domain"]) == digest:
                self._domains[digest] = action_call["domain"]
                while len(self._domains) > self._keep:
                    self._domains.popitem(last=False)
            return
        domain = self._domains.get(digest)
        if domain is None:
            raise DomainUnknown(digest)
        action_call["domain"] = domain
