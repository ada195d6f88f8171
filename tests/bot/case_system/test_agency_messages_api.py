"""Messages the agency starts, through the API on SQLite and PostgreSQL: rights-request extensions
and refusals told to the debtor, payment receipts, installment reminders and broken-plan notices,
each queued once, in the debtor's language, held for the contact window, honouring opt-out."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot.agency_scheduler import run_pass
from bot.backoffice import create_backoffice
from bot.case_system.contract.enums import Channel, InstallmentStatus, PaymentPlanStatus
from bot.case_system.domain import outbox as outbox_module
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store import database as db
from bot.case_system.store.models import (
    Case,
    Installment,
    OutboundMessage,
    PaymentPlan,
    SmsConversation,
    SmsOptOut,
)
from bot.outbound_sms import next_deliverable
from tests.bot.case_system.conftest import acting_for, add_caseworker, make_settings
from tests.bot.case_system.test_rights_api import log_request, verify

KARI_PHONE = "+4791234567"
EMMA_PHONE = "+4745512345"


async def outbox(client) -> list[OutboundMessage]:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return list((await session.execute(sa.select(OutboundMessage).order_by(OutboundMessage.id))).scalars())


async def extend(client, reference, **body):
    response = await client.post(
        f"/api/v1/rights-requests/{reference}/extension", json=body, headers=acting_for("anne")
    )
    return response.status, await response.json()


# --- rights requests ----------------------------------------------------------------------------


async def test_an_sms_request_extended_by_two_months_tells_the_debtor_inside_the_window(client, auth, clock):
    await add_caseworker(client, "anne")
    async with client.app[CASE_SYSTEM].sessions() as session:
        session.add(SmsConversation(conversation_id="sms-conv-1", phone=KARI_PHONE, last_inbound_at=clock.now))
        await session.commit()
    await verify(client, auth, "sms-conv-1", channel="sms", national_id="14838540024")
    status, logged = await log_request(
        client, auth, type="access", case_number="100001", channel="sms", conversation_id="sms-conv-1"
    )
    assert status == 201 and logged["due_date"] == "2026-12-25"

    clock.now = datetime(2026, 12, 5, 20, 30, tzinfo=timezone.utc)  # Saturday 21:30 in Oslo: closed
    status, body = await extend(client, logged["id"], months=2, reason="Saken din har mange dokumenter.")
    assert status == 200, body
    assert body["due_date"] == "2027-02-25" and body["extended_months"] == 2
    assert body["extension_notice"] == "queued" and body["extension_reason"] == "Saken din har mange dokumenter."
    [message] = [m for m in await outbox(client) if m.purpose == "rights_request_extended"]
    assert message.to_phone == KARI_PHONE and message.agency_initiated
    assert "25.02.2027" in message.body and "Saken din har mange dokumenter." in message.body
    assert message.not_before == datetime(2026, 12, 7, 7, 0, tzinfo=timezone.utc)  # Monday 08:00 Oslo

    # Overdue follows the extended deadline: not overdue after the first month.
    clock.now = datetime(2027, 1, 10, 12, 0, tzinfo=timezone.utc)
    listed = await client.get("/api/v1/rights-requests?overdue=true", headers=auth)
    assert (await listed.json())["rights_requests"] == []
    clock.now = datetime(2027, 2, 26, 12, 0, tzinfo=timezone.utc)
    listed = await client.get("/api/v1/rights-requests?overdue=true", headers=auth)
    assert [item["id"] for item in (await listed.json())["rights_requests"]] == [logged["id"]]


async def test_an_extension_is_only_once_within_the_first_month_and_by_a_caseworker(client, auth, clock):
    await add_caseworker(client, "anne")
    _, logged = await log_request(client, auth, type="erasure")
    unauthorised = await client.post(
        f"/api/v1/rights-requests/{logged['id']}/extension", json={"months": 1, "reason": "x"}, headers=auth
    )
    assert unauthorised.status == 403
    assert (await extend(client, logged["id"], months=3, reason="for mye"))[0] == 422
    assert (await extend(client, logged["id"], months=1, reason="  "))[0] == 422
    clock.now = datetime(2026, 12, 25, 23, 30, tzinfo=timezone.utc)  # 26 December in Oslo: too late
    status, body = await extend(client, logged["id"], months=1, reason="Mange henvendelser.")
    assert (status, body["error"]["code"]) == (409, "extension_too_late")
    clock.now = datetime(2026, 12, 25, 22, 0, tzinfo=timezone.utc)  # 23:00 on the due date: in time
    status, body = await extend(client, logged["id"], months=1, reason="Mange henvendelser.")
    assert status == 200 and body["due_date"] == "2027-01-25"
    # A web request whose identity is unknown: nothing reaches them, and the caseworker sees so.
    assert body["extension_notice"] == "no_channel"
    assert [m for m in await outbox(client) if m.purpose.startswith("rights_")] == []
    status, body = await extend(client, logged["id"], months=1, reason="Igjen.")
    assert (status, body["error"]["code"]) == (409, "already_extended")


async def test_a_refusal_tells_the_debtor_why_and_of_the_right_to_complain_to_datatilsynet(client, auth):
    await add_caseworker(client, "anne")
    await verify(client, auth, "web-conversation-1", case_number="100004", birth_date="1978-06-27")
    _, logged = await log_request(client, auth, type="erasure", case_number="100004")
    response = await client.post(
        f"/api/v1/rights-requests/{logged['id']}/refusal",
        json={"reason": "The claim is still open, so we must keep the data."},
        headers=acting_for("anne"),
    )
    body = await response.json()
    assert response.status == 200 and body["status"] == "rejected" and body["refusal_notice"] == "queued"
    [message] = [m for m in await outbox(client) if m.purpose == "rights_request_refused"]
    assert message.to_phone == EMMA_PHONE  # a verified web request: the debtor's number on file
    assert "Datatilsynet" in message.body and "The claim is still open" in message.body  # Emma reads English
    again = await client.post(
        f"/api/v1/rights-requests/{logged['id']}/refusal", json={"reason": "x"}, headers=acting_for("anne")
    )
    assert again.status == 409


# --- payments, reminders, breaches --------------------------------------------------------------


async def test_a_registered_payment_gets_one_receipt_in_the_debtors_language(client, auth):
    body = {"paid_on": "2026-11-24", "amount": "500.00", "idempotency_key": "bank-2026-11-24-1"}
    first = await client.post("/api/v1/cases/100004/payments", json=body, headers=auth)
    again = await client.post("/api/v1/cases/100004/payments", json=body, headers=auth)
    assert (first.status, again.status) == (201, 200)
    answer = await first.json()
    assert answer["receipt"] == "queued" and (await again.json())["receipt"] == "duplicate"
    [receipt] = [m for m in await outbox(client) if m.purpose == "payment_receipt"]
    assert receipt.to_phone == EMMA_PHONE and receipt.body.startswith("Alektum has registered a payment of NOK")
    assert answer["balance"] in receipt.body.replace(",", "")
    bad = await client.post("/api/v1/cases/100004/payments", json={**body, "paid_on": "2026-12-01"}, headers=auth)
    assert bad.status == 422


async def test_an_opted_out_number_gets_its_receipt_suppressed(client, auth, clock):
    async with client.app[CASE_SYSTEM].sessions() as session:
        session.add(SmsOptOut(phone=KARI_PHONE, opted_out_at=clock.now))
        await session.commit()
    response = await client.post(
        "/api/v1/cases/100001/payments", json={"paid_on": "2026-11-25", "amount": "100.00"}, headers=auth
    )
    assert (await response.json())["receipt"] == "suppressed"
    [receipt] = await outbox(client)
    assert receipt.status.value == "suppressed"


async def add_plan(client, case_number: str, *, made: datetime, dues: list[date], amount: str = "500.00") -> int:
    async with client.app[CASE_SYSTEM].sessions() as session:
        case = (await session.execute(sa.select(Case).where(Case.case_number == case_number))).scalar_one()
        plan = PaymentPlan(
            case_id=case.id,
            status=PaymentPlanStatus.ACTIVE,
            monthly_amount=Decimal(amount),
            fee=Decimal("0.00"),
            created_via=Channel.SMS,
            created_at=made,
            installments=[
                Installment(sequence=n, due_date=due, amount=Decimal(amount), status=InstallmentStatus.DUE)
                for n, due in enumerate(dues, start=1)
            ],
        )
        session.add(plan)
        await session.commit()
        return plan.id


async def test_reminders_go_out_once_before_each_installment_and_a_late_one_breaks_the_plan(client, settings):
    sessions = client.app[CASE_SYSTEM].sessions
    plan_id = await add_plan(
        client,
        "100001",
        made=datetime(2027, 2, 1, 10, tzinfo=timezone.utc),
        dues=[date(2027, 3, 27), date(2027, 4, 27)],
    )
    # Wednesday 24 March 2027, 22:00 Oslo: the reminder for Saturday's installment is due; the window is closed.
    now = datetime(2027, 3, 24, 21, 0, tzinfo=timezone.utc)
    assert (await run_pass(sessions, settings, now=now))["reminders"] == 1
    assert (await run_pass(sessions, settings, now=now))["reminders"] == 0  # never twice
    [reminder] = await outbox(client)
    assert reminder.purpose == "plan_installment_reminder" and reminder.to_phone == KARI_PHONE
    assert "forfaller 27.03.2027" in reminder.body and "KID" in reminder.body
    assert reminder.not_before == datetime(2027, 3, 27, 8, 0, tzinfo=timezone.utc)  # Easter Saturday 09:00
    async with sessions() as session:
        assert await next_deliverable(session, now=now) == []  # held: nothing to send on Maundy Thursday eve
        assert [m.id for m in await next_deliverable(session, now=reminder.not_before)] == [reminder.id]

    # Not paid: broken on 14 April (next bank day 30 March + 14 days' grace); one notice.
    assert (await run_pass(sessions, settings, now=datetime(2027, 4, 13, 10, tzinfo=timezone.utc)))["broken"] == 0
    broken_at = datetime(2027, 4, 14, 10, tzinfo=timezone.utc)
    assert (await run_pass(sessions, settings, now=broken_at))["broken"] == 1
    assert (await run_pass(sessions, settings, now=broken_at))["broken"] == 0
    notices = [m for m in await outbox(client) if m.purpose == "payment_plan_broken"]
    assert len(notices) == 1 and "er brutt" in notices[0].body and "27.03.2027" in notices[0].body
    async with sessions() as session:
        plan = await session.get(PaymentPlan, plan_id)
        assert plan.status is PaymentPlanStatus.DEFAULTED


async def test_a_payment_covering_the_installment_stops_its_reminder_and_the_breach(client, auth, settings, clock):
    sessions = client.app[CASE_SYSTEM].sessions
    await add_plan(client, "100004", made=datetime(2026, 11, 1, 10, tzinfo=timezone.utc), dues=[date(2026, 11, 28)])
    response = await client.post(
        "/api/v1/cases/100004/payments", json={"paid_on": "2026-11-25", "amount": "500.00"}, headers=auth
    )
    assert response.status == 201
    counts = await run_pass(sessions, settings, now=clock.now)
    assert counts == {"reminders": 0, "broken": 0, "completed": 0}  # completed already at registration
    async with sessions() as session:
        plan = (await session.execute(sa.select(PaymentPlan))).scalar_one()
        assert plan.status is PaymentPlanStatus.COMPLETED
    assert [m.purpose for m in await outbox(client)] == ["payment_receipt"]


async def test_a_held_agency_message_does_not_hold_back_an_answer_to_the_same_number(client, auth, clock):
    async with client.app[CASE_SYSTEM].sessions() as session:
        sunday = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
        await outbox_module.enqueue_agency_sms(
            session,
            to_phone=KARI_PHONE,
            body="reminder",
            purpose="plan_installment_reminder",
            idempotency_key="k1",
            now=sunday,
            hours=contact_hours(),
        )
        answer = outbox_module.enqueue_sms(
            session, to_phone=KARI_PHONE, body="answer", purpose="handoff_reply", now=sunday
        )
        await session.commit()
        assert [m.id for m in await next_deliverable(session, now=sunday)] == [answer.id]


async def test_the_backoffice_runs_the_scheduler_beside_the_outbox(database_url):
    settings = make_settings(database_url, AGENCY_MESSAGE_POLL_SECONDS="3600")
    async with TestClient(TestServer(create_backoffice(settings))):
        assert "agency-messages" in {task.get_name() for task in asyncio.all_tasks()}
    assert "agency-messages" not in {task.get_name() for task in asyncio.all_tasks() if not task.done()}


async def test_two_replicas_passing_at_once_queue_each_message_once(client, settings, database_url):
    await add_plan(client, "100001", made=datetime(2027, 2, 1, 10, tzinfo=timezone.utc), dues=[date(2027, 3, 27)])
    await add_plan(client, "100004", made=datetime(2027, 2, 1, 10, tzinfo=timezone.utc), dues=[date(2027, 2, 20)])
    # Two backoffice processes: each its own engine and sessions on the same database.
    engines = [db.engine_for_url(database_url), db.engine_for_url(database_url)]
    try:
        factories = [db.session_factory(engine) for engine in engines]
        now = datetime(2027, 3, 25, 10, 0, tzinfo=timezone.utc)  # Emma's plan broken, Kari's reminder due
        results = await asyncio.gather(*(run_pass(factory, settings, now=now) for factory in factories))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(result["reminders"] for result in results) == 1
    assert sum(result["broken"] for result in results) == 1
    purposes = sorted(m.purpose for m in await outbox(client))
    assert purposes == ["payment_plan_broken", "plan_installment_reminder"]
