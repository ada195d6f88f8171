"""Prometheus metrics: what an agency watches, one registry per process, served at `/metrics`.

Each process (and each replica) is scraped on its own; Prometheus adds replicas up with `sum()`,
so no multiprocess mode is needed (every process is a single Python process). The names are the
contract of deploy/grafana-dashboard.json and of the README's alerts:

- dialogue server: turns, turn latency, NLU fallbacks and conversations started, per channel;
- action server: custom actions run, by action and outcome, and their latency;
- backoffice: verification outcomes, handoffs by reason, time until a caseworker takes one,
  payment plans created, rights requests received, SMS delivery failures (from the audit trail,
  counted once the request's transaction commits), and the gauges read from the database at each
  scrape: handoffs waiting, SMS outbox depth, rights requests open and overdue.

`/metrics` answers only with `Authorization: Bearer <METRICS_TOKEN>` (a setting of its own, so
the scraper holds no key that reads debtors' data); with no token configured it answers 404.
"""

from __future__ import annotations

import hmac

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# A turn is NLU, policies and actions; most take 30-300 ms, a slow action seconds.
TURN_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0, 6.0, 10.0)
# A caseworker takes a handoff within minutes in opening hours, or the next working morning.
TAKE_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 4 * 3600, 16 * 3600, 72 * 3600)

# Dialogue server.
TURNS = Counter("debtbot_turns", "Debtor messages handled", ["channel"], registry=REGISTRY)
TURN_SECONDS = Histogram(
    "debtbot_turn_seconds", "Time from a debtor's message to the end of the answer", ["channel"],
    buckets=TURN_BUCKETS, registry=REGISTRY,
)  # fmt: skip
NLU_FALLBACKS = Counter(
    "debtbot_nlu_fallbacks", "Messages the NLU could not classify with confidence", ["channel"], registry=REGISTRY
)
CONVERSATIONS = Counter("debtbot_conversations", "Conversation sessions started", ["channel"], registry=REGISTRY)

# Action server.
ACTIONS = Counter("debtbot_actions", "Custom actions run", ["action", "outcome"], registry=REGISTRY)
ACTION_SECONDS = Histogram("debtbot_action_seconds", "Custom action run time", ["action"], registry=REGISTRY)

# Backoffice (the case system).
VERIFICATIONS = Counter(
    "debtbot_verifications", "Identity verification attempts by outcome", ["outcome", "channel"], registry=REGISTRY
)
HANDOFFS = Counter("debtbot_handoffs", "Handoffs to a caseworker created", ["reason", "channel"], registry=REGISTRY)
HANDOFF_TAKE_SECONDS = Histogram(
    "debtbot_handoff_take_seconds", "Time from a handoff's creation until a caseworker takes it",
    buckets=TAKE_BUCKETS, registry=REGISTRY,
)  # fmt: skip
PAYMENT_PLANS = Counter("debtbot_payment_plans_created", "Payment plans agreed", ["channel"], registry=REGISTRY)
RIGHTS_REQUESTS = Counter("debtbot_rights_requests", "GDPR rights requests received", ["type"], registry=REGISTRY)
SMS_DELIVERY_FAILURES = Counter(
    "debtbot_sms_delivery_failures", "Outbound SMS that Twilio reported failed or undelivered", registry=REGISTRY
)
HANDOFFS_WAITING = Gauge("debtbot_handoffs_waiting", "Handoffs no caseworker has taken yet", registry=REGISTRY)
SMS_OUTBOX_DEPTH = Gauge("debtbot_sms_outbox_depth", "Outbound SMS not yet handed to Twilio", registry=REGISTRY)
RIGHTS_REQUESTS_OPEN = Gauge("debtbot_rights_requests_open", "Rights requests not yet completed", registry=REGISTRY)
RIGHTS_REQUESTS_OVERDUE = Gauge(
    "debtbot_rights_requests_overdue", "Open rights requests past their due date", registry=REGISTRY
)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def scrape_allowed(authorization: str, token: str) -> bool:
    """Whether a scrape may read the metrics: a configured token, given as a Bearer token."""
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
