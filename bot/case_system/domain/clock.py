"""Days in Norway: interest, deadlines and due dates follow the Oslo calendar."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.config import TIMEZONE

OSLO = ZoneInfo(TIMEZONE)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def oslo_date(moment: datetime) -> date:
    """The calendar day in Norway at `moment`."""
    return moment.astimezone(OSLO).date()
