"""GDPR Art. 12(3) extensions as plain rules: the period counted from receipt, once, by one or two
further months, and only within the first month after receipt."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.case_system.contract.enums import RightsRequestStatus
from bot.case_system.domain import rights_requests
from bot.case_system.domain.rights_requests import ExtensionRefused, check_extension

RECEIVED = datetime(2027, 1, 31, 12, 0, tzinfo=timezone.utc)  # 31 January in Oslo


@pytest.mark.parametrize(
    "months, due, end_utc",
    [
        (0, date(2027, 2, 28), datetime(2027, 2, 28, 22, 59, 59, tzinfo=timezone.utc)),  # CET
        (1, date(2027, 3, 31), datetime(2027, 3, 31, 21, 59, 59, tzinfo=timezone.utc)),  # summer time
        (2, date(2027, 4, 30), datetime(2027, 4, 30, 21, 59, 59, tzinfo=timezone.utc)),
    ],
)
def test_the_deadline_counts_the_whole_period_from_receipt(months, due, end_utc):
    assert rights_requests.due_date(RECEIVED, months) == due
    assert rights_requests.due_at(RECEIVED, months) == end_utc


def test_an_extended_request_is_overdue_only_after_its_extended_deadline():
    extended = rights_requests.due_at(RECEIVED, 2)
    assert not rights_requests.is_overdue(
        RightsRequestStatus.RECEIVED, extended, datetime(2027, 3, 15, tzinfo=timezone.utc)
    )
    assert rights_requests.is_overdue(RightsRequestStatus.RECEIVED, extended, datetime(2027, 5, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    "status, extended_months, months, now, code",
    [
        (RightsRequestStatus.RECEIVED, None, 3, datetime(2027, 2, 1, tzinfo=timezone.utc), "invalid_extension"),
        (RightsRequestStatus.RECEIVED, None, 0, datetime(2027, 2, 1, tzinfo=timezone.utc), "invalid_extension"),
        (RightsRequestStatus.COMPLETED, None, 1, datetime(2027, 2, 1, tzinfo=timezone.utc), "request_closed"),
        (RightsRequestStatus.IN_PROGRESS, 1, 1, datetime(2027, 2, 1, tzinfo=timezone.utc), "already_extended"),
        # 1 March 00:00 in Oslo is after the first month (it ended with 28 February).
        (
            RightsRequestStatus.RECEIVED,
            None,
            2,
            datetime(2027, 2, 28, 23, 0, tzinfo=timezone.utc),
            "extension_too_late",
        ),
    ],
)
def test_what_cannot_be_extended(status, extended_months, months, now, code):
    with pytest.raises(ExtensionRefused) as refused:
        check_extension(status=status, received_at=RECEIVED, extended_months=extended_months, months=months, now=now)
    assert refused.value.code == code


def test_the_last_moment_of_the_first_month_is_still_in_time():
    last = datetime(2027, 2, 28, 22, 59, 59, tzinfo=timezone.utc)  # 23:59:59 on 28 February in Oslo
    check_extension(
        status=RightsRequestStatus.IN_PROGRESS, received_at=RECEIVED, extended_months=None, months=2, now=last
    )
