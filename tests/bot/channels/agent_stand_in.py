"""What the channels use of Rasa's agent, for channel tests without a trained model: the real
domain's responses (loaded once) and an in-memory tracker store."""

from __future__ import annotations

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from bot.config import REPO_ROOT

DOMAIN = Domain.load(str(REPO_ROOT / "domain"))


class Agent:
    domain = DOMAIN

    def __init__(self) -> None:
        self.nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
        self.tracker_store = InMemoryTrackerStore(DOMAIN)

    def is_ready(self) -> bool:
        return True
