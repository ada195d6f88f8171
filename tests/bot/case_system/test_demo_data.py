"""Demo data matches ARCHITECTURE.md's contract table and goes into an empty database only once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from stdnum.no import orgnr

from bot.case_system.contract.enums import LineType
from bot.case_system.domain import fees
from bot.case_system.domain.demo_data import load_demo_data
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import Case, Creditor, Debtor
from bot.identifiers import InvalidIdentifier, birth_date_of, is_valid_kid, validate_national_id

TODAY = date(2026, 11, 25)

# ARCHITECTURE.md, "Demo data (contract)".
DEBTORS = {
    "14838540024": ("Kari", "Nordmann", date(1985, 3, 14), "+4791234567", "nb"),
    "02919230056": ("Ola", "Nordmann", date(1992, 11, 2), "+4798765432", "nb"),
    "27867820081": ("Emma", "Hansen", date(1978, 6, 27), "+4745512345", "en"),
    "09810155180": ("Lars", "Berg", date(2001, 1, 9), "+4740011223", "nb"),
    "30896410004": ("Ingrid", "Dahl", date(1964, 9, 30), "+4793344556", "nb"),
}
CASES = {  # case number: (debtor, creditor, principal, status, stage or None for "any")
    "100001": ("14838540024", "Nordlys Strøm AS", "2450.00", "open", "betalingsoppfordring"),
    "100002": ("02919230056", "Bykassen Treningssenter AS", "1199.00", "open", None),
    "100003": ("02919230056", "Vestland Tannklinikk AS", "6800.00", "open", None),
    "100004": ("27867820081", "Polarnett Bredbånd AS", "3100.00", "open", None),
    "100005": ("09810155180", "Nordlys Strøm AS", "14500.00", "open", "legal_collection"),
    "100006": ("30896410004", None, None, "closed", None),
}


async def _load(client, settings) -> bool:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return await load_demo_data(session, settings)


async def _cases(client) -> dict[str, Case]:
    async with client.app[CASE_SYSTEM].sessions() as session:
        query = sa.select(Case).options(
            selectinload(Case.debtor),
            selectinload(Case.creditor),
            selectinload(Case.claim_lines),
            selectinload(Case.payments),
        )
        return {case.case_number: case for case in (await session.execute(query)).scalars()}


async def test_demo_data_goes_into_an_empty_database_once(empty_client, settings, probe):
    assert await _load(empty_client, settings) is True
    first = await probe.counts()
    assert (first["creditors"], first["debtors"], first["cases"]) == (4, 5, 6)
    assert await _load(empty_client, settings) is False
    assert await probe.counts() == first


async def test_demo_data_never_goes_into_a_database_with_data(empty_client, settings, probe):
    async with empty_client.app[CASE_SYSTEM].sessions() as session:
        session.add(Creditor(name="Ekte Kreditor AS", org_number="927183463"))
        await session.commit()
    assert await _load(empty_client, settings) is False
    assert (await probe.counts())["debtors"] == 0


async def test_demo_data_is_not_loaded_outside_demo_mode(client_factory, probe_for):
    async with client_factory(DEMO_MODE="false") as client:
        assert await _load(client, client.app[CASE_SYSTEM].settings) is False
        assert sum((await probe_for(client).counts()).values()) == 0


async def test_debtors_are_the_contracts_synthetic_people(client):
    async with client.app[CASE_SYSTEM].sessions() as session:
        debtors = (await session.execute(sa.select(Debtor))).scalars().all()
    assert {
        d.national_id: (d.first_name, d.last_name, d.birth_date, d.phone, d.language.value) for d in debtors
    } == DEBTORS
    for debtor in debtors:
        # Synthetic (month + 80): valid in demo mode, never a real person's number.
        assert birth_date_of(debtor.national_id, allow_synthetic=True) == debtor.birth_date
        with pytest.raises(InvalidIdentifier):
            validate_national_id(debtor.national_id, allow_synthetic=False)


async def test_cases_are_the_contracts_cases(client):
    cases = await _cases(client)
    assert set(cases) == set(CASES)
    for number, (debtor, creditor, principal, status, stage) in CASES.items():
        case = cases[number]
        assert case.debtor.national_id == debtor
        assert case.status.value == status
        if creditor is not None:
            assert case.creditor.name == creditor
        if principal is not None:
            assert case.principal == Decimal(principal)
        if stage is not None:
            assert case.stage.value == stage
        assert date(2026, 1, 1) <= case.invoice_date < case.due_date < TODAY
        assert case.invoice_number and is_valid_kid(case.kid)
        assert orgnr.is_valid(case.creditor.org_number)
    assert cases["100001"].due_date == date(2026, 8, 15)
    assert "strøm" in cases["100001"].description.lower()  # an electricity bill


async def test_kari_is_charged_exactly_the_legal_reminder_and_collection_fees(client):
    case = (await _cases(client))["100001"]
    lines = {LineType(line.type): line for line in case.claim_lines}
    assert set(lines) == {LineType.REMINDER_FEE, LineType.COLLECTION_FEE}
    reminder, collection = lines[LineType.REMINDER_FEE], lines[LineType.COLLECTION_FEE]
    assert case.due_date < reminder.charged_on < collection.charged_on < TODAY
    assert reminder.amount == fees.reminder_fee_cap(reminder.charged_on)
    assert collection.amount == fees.collection_fee_cap(case.principal, collection.charged_on)


async def test_every_fee_is_within_its_legal_cap(client):
    for case in (await _cases(client)).values():
        for line in case.claim_lines:
            check = fees.check_fee(
                LineType(line.type),
                line.amount,
                principal=case.principal,
                charged_on=line.charged_on,
                heavy=case.stage.value == "legal_collection",
            )
            assert not check.over_cap, (case.case_number, line.type)
            assert case.due_date < line.charged_on < TODAY


async def test_open_cases_at_a_letter_stage_were_sent_their_letter_after_their_last_fee(client):
    for case in (await _cases(client)).values():
        if case.status.value == "closed" or case.stage.value == "legal_collection":
            assert case.notice_sent_on is None, case.case_number
            continue
        last_fee = max(line.charged_on for line in case.claim_lines)
        assert last_fee < case.notice_sent_on < TODAY, case.case_number


async def test_payments_are_the_contracts_payments(client):
    cases = await _cases(client)
    assert [(p.paid_on, p.amount) for p in cases["100003"].payments] == [(date(2026, 9, 1), Decimal("1000.00"))]
    assert all(not cases[number].payments for number in ("100001", "100002", "100004", "100005"))
    assert cases["100006"].payments and cases["100006"].closed_on == cases["100006"].payments[-1].paid_on


async def test_the_closed_case_is_paid_in_full(client, auth):
    case = await (await client.get("/api/v1/cases/100006", headers=auth)).json()
    assert (case["status"], case["balance"], case["overpaid"]) == ("closed", "0.00", "0.00")
    assert case["total_paid"] == case["total_claimed"]
