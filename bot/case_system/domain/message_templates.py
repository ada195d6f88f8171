"""The case system's own messages to debtors (SMS confirmations, receipts, reminders, notices), nb
and en, from bot/case_system/data/message_templates.yml."""

from __future__ import annotations

from functools import lru_cache

import yaml

from bot.case_system.domain import DATA_DIR

TEMPLATES_PATH = DATA_DIR / "message_templates.yml"


@lru_cache(maxsize=1)
def _templates() -> dict[str, dict[str, str]]:
    return yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))


def render(template: str, language: str, **values: str) -> str:
    """A message from its nb/en template; any language but English gets Bokmål."""
    return _templates()[template]["en" if language == "en" else "nb"].format(**values)
