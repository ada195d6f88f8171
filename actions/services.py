"""The action server's shared services, created once per process (tests may swap them)."""

from __future__ import annotations

from typing import Optional

from actions.case_system_client import CaseSystemClient
from bot.config import Settings, load_settings

_settings: Optional[Settings] = None
_case_system: Optional[CaseSystemClient] = None


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def case_system() -> CaseSystemClient:
    global _case_system
    if _case_system is None:
        _case_system = CaseSystemClient.from_settings(settings())
    return _case_system


def use(*, settings: Optional[Settings] = None, case_system: Optional[CaseSystemClient] = None) -> None:
    """Replaces the services (for tests and embedding); None resets one to its default."""
    global _settings, _case_system
    _settings, _case_system = settings, case_system


async def close() -> None:
    """Releases the case-system client's connections (on action-server shutdown)."""
    if _case_system is not None:
        await _case_system.close()
