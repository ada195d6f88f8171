"""When the agency may start contact with a debtor: the contact window (kontakttidspunkt).

Messages the agency initiates, as opposed to answers to a debtor who wrote first, are sent only
on weekdays 08:00-21:00 and Saturdays 09:00-15:00 Oslo time, never on Sundays or Norwegian public
holidays (good collection practice, inkassoforskriften / God inkassoskikk, and the proposed new
inkassolov, Prop. 3 L (2025-2026)). `AGENCY_CONTACT_HOURS` sets the hours in the same form as the
caseworkers' opening hours; public holidays are always closed. A message made outside the window
waits, queued, for its next opening.

Worked examples (Europe/Oslo):
- Wednesday 24 March 2027 at 21:30: after hours; Maundy Thursday and Good Friday are public
  holidays, so it goes out on Saturday 27 March at 09:00.
- Saturday 27 March 2027 at 15:00: the Saturday window has closed; Easter Sunday and Easter
  Monday are closed, so it goes out on Tuesday 30 March at 08:00.
- Saturday 15 May 2027 at 16:00: Sunday 16 May is Whit Sunday and Monday 17 May is Constitution
  Day (and Whit Monday), so it goes out on Tuesday 18 May at 08:00.
"""

from __future__ import annotations

from datetime import datetime

from bot.case_system.domain.opening_hours import OpeningHours, parse_hours

DEFAULT_CONTACT_HOURS = "mon-fri 08:00-21:00, sat 09:00-15:00"


def contact_hours(text: str = "") -> OpeningHours:
    """The agency's contact window from its written form (`AGENCY_CONTACT_HOURS`)."""
    return parse_hours(text or DEFAULT_CONTACT_HOURS)


def may_contact(moment: datetime, hours: OpeningHours) -> bool:
    """Whether an agency-initiated message may be sent at `moment`."""
    return hours.is_open(moment)


def send_not_before(moment: datetime, hours: OpeningHours) -> datetime:
    """When a message made at `moment` may go out: at once inside the window, else at its next opening."""
    return moment if hours.is_open(moment) else hours.next_opening(moment)
