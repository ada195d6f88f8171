"""The rules of GDPR rights requests, with worked examples."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.case_system.contract.enums import RightsRequestStatus, RightsRequestType
from bot.case_system.domain import rights_requests as rules
from bot.case_system.store.models import Debtor

OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    "received, due",
    [
        (date(2026, 1, 15), date(2026, 2, 15)),  # the same date next month
        (date(2027, 1, 31), date(2027, 2, 28)),  # February has no 31st: its last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # ... 29 in a leap year
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 8, 31), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2027, 1, 31)),  # over the new year
        (date(2026, 2, 28), date(2026, 3, 28)),  # not "the end of the month"
    ],
)
def test_one_calendar_month_ends_on_the_same_date_or_the_last_day_of_a_shorter_month(received, due):
    assert rules.add_one_month(received) == due


def test_the_day_received_is_the_day_in_norway():
    # 23:30 UTC on 31 January is already 1 February in Oslo.
    late_evening = datetime(2027, 1, 31, 23, 30, tzinfo=timezone.utc)
    assert rules.due_date(late_evening) == date(2027, 3, 1)
    assert rules.due_date(datetime(2027, 1, 31, 22, 30, tzinfo=timezone.utc)) == date(2027, 2, 28)


def test_the_deadline_is_the_end_of_the_due_date_in_oslo():
    deadline = rules.due_at(datetime(2027, 1, 31, 10, 0, tzinfo=timezone.utc))
    assert deadline.tzinfo is not None
    local = deadline.astimezone(OSLO)
    assert (local.date(), local.hour, local.minute, local.second) == (date(2027, 2, 28), 23, 59, 59)
    # Summer time: the end of 30 June in Oslo is 21:59:59 UTC.
    summer = rules.due_at(datetime(2026, 5, 30, 8, 0, tzinfo=timezone.utc))
    assert summer == datetime(2026, 6, 30, 21, 59, 59, tzinfo=timezone.utc)


def test_only_open_requests_past_their_deadline_are_overdue():
    deadline = datetime(2027, 2, 28, 22, 59, 59, tzinfo=timezone.utc)
    after = datetime(2027, 3, 1, 8, 0, tzinfo=timezone.utc)
    assert rules.is_overdue(RightsRequestStatus.RECEIVED, deadline, after)
    assert rules.is_overdue(RightsRequestStatus.IN_PROGRESS, deadline, after)
    assert not rules.is_overdue(RightsRequestStatus.COMPLETED, deadline, after)
    assert not rules.is_overdue(RightsRequestStatus.REJECTED, deadline, after)
    assert not rules.is_overdue(RightsRequestStatus.RECEIVED, deadline, deadline)


def test_references_are_short_random_and_read_back_however_typed():
    references = {rules.new_reference() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert len(reference) == 9 and reference.startswith("PV-")
        assert not set(reference[3:]) & set("ILOU")
        assert rules.normalise_reference(reference.lower().replace("-", " ")) == reference
    assert rules.normalise_reference("PV-12345") is None  # too short
    assert rules.normalise_reference("PV-1234OI") is None  # letters that are never used
    assert rules.normalise_reference("XX-123456") is None


def test_each_rights_intent_names_its_right():
    assert rules.type_for_intent("rights_access") is RightsRequestType.ACCESS
    assert rules.type_for_intent("rights_human_review") is RightsRequestType.HUMAN_REVIEW
    assert {rules.type_for_intent(f"rights_{kind.value}") for kind in RightsRequestType} == set(RightsRequestType)
    assert rules.type_for_intent("ask_balance") is None


def test_nothing_touches_or_discloses_data_before_identity_is_confirmed():
    for kind in RightsRequestType:
        effects = rules.effects_of(kind, verified=False)
        assert not effects.set_marketing_objection and not effects.produce_export
        # A person must look at a request for human review either way.
        assert effects.create_handoff is (kind is RightsRequestType.HUMAN_REVIEW)


def test_what_each_verified_request_does_at_once():
    assert rules.effects_of(RightsRequestType.OBJECTION, verified=True).set_marketing_objection
    assert rules.effects_of(RightsRequestType.ACCESS, verified=True).produce_export
    assert rules.effects_of(RightsRequestType.PORTABILITY, verified=True).produce_export
    assert rules.effects_of(RightsRequestType.HUMAN_REVIEW, verified=True).create_handoff
    for kind in (RightsRequestType.ERASURE, RightsRequestType.RESTRICTION, RightsRequestType.RECTIFICATION):
        assert rules.effects_of(kind, verified=True) == rules.Effects()
        assert rules.initial_status(rules.effects_of(kind, verified=True)) is RightsRequestStatus.RECEIVED
    assert (
        rules.initial_status(rules.effects_of(RightsRequestType.ACCESS, verified=True))
        is RightsRequestStatus.IN_PROGRESS
    )


def test_no_marketing_after_an_objection():
    assert rules.may_market_to(Debtor(marketing_objection=False))
    assert not rules.may_market_to(Debtor(marketing_objection=True))
