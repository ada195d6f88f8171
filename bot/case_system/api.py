"""Compatibility only: the app factory moved to `bot.case_system.http.app`. Remove once
tests/bot/channels/test_sms_outage.py imports from there."""

from bot.case_system.http.app import create_app  # noqa: F401
from bot.case_system.http.context import CASE_SYSTEM  # noqa: F401
