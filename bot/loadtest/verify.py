"""Whether every acknowledged message of a load test is in its conversation's tracker exactly once
and in order, read from Rasa's own `events` table (user events, by insertion order)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bot.channels.conversation_ids import sms_conversation_id
from bot.config import Settings, to_sync_url

# SMS turns run after the webhook's answer (and a kept message when the case system is back):
# the check waits this long for the last ones.
SETTLE_SECONDS = 90.0


@dataclass
class Verdict:
    acknowledged: int = 0
    apologised: int = 0  # answered with a polite "try again"; may or may not be kept
    gave_up: int = 0  # the client's retries all failed
    missing: list[str] = field(default_factory=list)  # conversation ids
    duplicated: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.reordered)

    def describe(self) -> str:
        return (
            f"{self.acknowledged} acknowledged, {self.apologised} apologised, {self.gave_up} given up; "
            f"missing {len(self.missing)}, duplicated {len(self.duplicated)}, reordered {len(self.reordered)}"
        )


def read_acks(path: Path, settings: Settings) -> dict[str, list[dict]]:
    """The load test's records per conversation id, in the order they were sent."""
    sent: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        item = json.loads(line)
        conversation = item["conversation"]
        if item["channel"] == "sms":
            conversation = sms_conversation_id(settings.conversation_id_key, conversation)
        sent[conversation].append(item)
    return dict(sent)


def user_texts(engine: sa.engine.Engine, conversations: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    query = sa.text(
        "SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id IN :ids ORDER BY id"
    ).bindparams(sa.bindparam("ids", expanding=True))
    with engine.connect() as connection:
        for start in range(0, len(conversations), 500):
            for sender_id, data in connection.execute(query, {"ids": conversations[start : start + 500]}):
                found[sender_id].append(json.loads(data).get("text"))
    return found


def judge(sent: dict[str, list[dict]], found: dict[str, list[str]]) -> Verdict:
    verdict = Verdict()
    for conversation, records in sent.items():
        texts = found.get(conversation, [])
        positions = []
        for item in records:
            verdict.acknowledged += item["outcome"] == "acknowledged"
            verdict.apologised += item["outcome"] == "apologised"
            verdict.gave_up += item["outcome"] == "gave_up"
            count = texts.count(item["text"])
            if count > 1:
                verdict.duplicated.append(conversation)
            elif count == 0 and item["outcome"] == "acknowledged":
                verdict.missing.append(conversation)
            if count == 1:
                positions.append(texts.index(item["text"]))
        if positions != sorted(positions):
            verdict.reordered.append(conversation)
    return verdict


def verify(acks: Path, settings: Settings, settle_seconds: float = SETTLE_SECONDS) -> Verdict:
    """Checks the trackers, waiting up to `settle_seconds` for messages still being answered."""
    sent = read_acks(acks, settings) if acks.exists() else {}
    engine = sa.create_engine(to_sync_url(settings.tracker_store_url))
    try:
        deadline = time.monotonic() + settle_seconds
        while True:
            verdict = judge(sent, user_texts(engine, list(sent)))
            if verdict.ok or time.monotonic() > deadline:
                return verdict
            time.sleep(2)
    finally:
        engine.dispose()
