"""The payment API on SQLite and PostgreSQL: quotes, plans (idempotent, with an SMS in the same
transaction), postponements, disputes, fee reviews; and bad input that writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import Case, ClaimLineRecord, OutboundMessage

WEB = {"channel": "web", "conversation_id": "web:payments-test"}
TODAY = date(2026, 11, 25)  # conftest's clock


def case_url(number: str, tail: str = "") -> str:
    return f"/api/v1/cases/{number}{tail}"


async def get_case(client, auth, number: str) -> dict:
    response = await client.get(case_url(number), headers=auth)
    assert response.status == 200
    return await response.json()


async def outbox_rows(client) -> list[OutboundMessage]:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return list((await session.execute(sa.select(OutboundMessage).order_by(OutboundMessage.id))).scalars())


# --- quotes --------------------------------------------------------------------------------------


async def test_a_quote_adds_up_to_the_balance_the_case_shows(client, auth, probe):
    case = await get_case(client, auth, "100003")
    before = await probe.counts()
    response = await client.post(
        case_url("100003", "/payment-plans/quote"), json={"monthly_amount": "1000.00"}, headers=auth
    )
    assert response.status == 200
    body = await response.json()
    quote = body["quote"]
    assert quote["acceptable"] is True and quote["problems"] == []
    assert quote["balance"] == case["balance"]
    installments = [Decimal(item["amount"]) for item in quote["installments"]]
    assert sum(installments) == Decimal(quote["total"]) == Decimal(case["balance"]) + Decimal(quote["fee"])
    assert quote["installments"][0]["due_date"] == quote["first_due_date"] <= body["policy"]["first_due_latest"]
    assert Decimal(quote["estimated_interest"]) > 0
    after = await probe.counts()
    assert after["payment_plans"] == before["payment_plans"] and after["audit_events"] == before["audit_events"] + 1


async def test_a_quote_outside_the_policy_names_the_problem_and_the_nearest_plan(client, auth):
    response = await client.post(
        case_url("100003", "/payment-plans/quote"), json={"monthly_amount": "100"}, headers=auth
    )
    quote = (await response.json())["quote"]
    # 100 kr a month is below the 300 kr minimum, and would take more than 24 months.
    assert quote["acceptable"] is False and quote["problems"] == ["installment_below_minimum", "too_many_months"]
    assert quote["alternative"]["acceptable"] is True and quote["alternative"]["monthly_amount"] == "300.00"


async def test_lars_large_legal_stage_case_is_quoted_under_its_creditors_policy(client, auth):
    response = await client.post(case_url("100005", "/payment-plans/quote"), json={"months": 36}, headers=auth)
    body = await response.json()
    assert body["policy"]["max_months"] == 18 and body["policy"]["min_installment"] == "500.00"
    assert body["quote"]["problems"] == ["too_many_months"]
    assert body["quote"]["alternative"]["months"] == 18


# --- creating a plan -----------------------------------------------------------------------------


async def test_an_accepted_plan_is_created_once_with_an_sms_confirmation(client, auth, probe, settings):
    request = {"monthly_amount": "1000.00", "accepted": True, **WEB}
    response = await client.post(case_url("100003", "/payment-plans"), json=request, headers=auth)
    assert response.status == 201
    plan = await response.json()
    assert plan["status"] == "active" and plan["created_via"] == "web" and plan["confirmation"] == "queued"
    counts = await probe.counts()

    again = await client.post(case_url("100003", "/payment-plans"), json=request, headers=auth)
    assert again.status == 200 and (await again.json())["id"] == plan["id"]
    assert (await probe.counts())["payment_plans"] == counts["payment_plans"] == 1
    assert (await probe.counts())["outbound_messages"] == 1

    listed = await (await client.get(case_url("100003", "/payment-plans"), headers=auth)).json()
    assert [item["id"] for item in listed["payment_plans"]] == [plan["id"]]
    assert listed["payment_plans"][0]["installments"] == plan["installments"]
    case = await get_case(client, auth, "100003")
    assert case["open_payment_plan"]["id"] == plan["id"]
    assert sum(Decimal(item["amount"]) for item in plan["installments"]) == Decimal(case["balance"]) + Decimal(
        plan["fee"]
    )

    (message,) = await outbox_rows(client)
    assert message.to_phone == "+4798765432" and message.status.value == "pending"
    assert message.purpose == "payment_plan_confirmation"
    assert case["kid"] in message.body and settings.agency_account_number in message.body
    assert "Nedbetalingsavtale" in message.body  # Ola's language is nb


async def test_a_second_plan_on_a_case_with_an_active_one_is_refused(client, auth, probe):
    first = {"monthly_amount": "1000.00", "accepted": True, **WEB}
    assert (await client.post(case_url("100003", "/payment-plans"), json=first, headers=auth)).status == 201
    before = await probe.counts()
    other = {"months": 6, "accepted": True, "channel": "sms", "conversation_id": "sms:other"}
    response = await client.post(case_url("100003", "/payment-plans"), json=other, headers=auth)
    assert response.status == 409 and (await response.json())["error"]["code"] == "active_plan_exists"
    quote = await client.post(case_url("100003", "/payment-plans/quote"), json={}, headers=auth)
    assert quote.status == 409
    assert (await probe.counts())["payment_plans"] == before["payment_plans"]


async def test_a_plan_outside_the_policy_is_not_created(client, auth, probe):
    before = await probe.counts()
    body = {"monthly_amount": "100.00", "accepted": True, **WEB}
    response = await client.post(case_url("100003", "/payment-plans"), json=body, headers=auth)
    assert response.status == 422 and (await response.json())["error"]["code"] == "outside_policy"
    assert await probe.counts() == before


BAD_PLANS = {
    "zero": ({"monthly_amount": "0"}, 422, "monthly_amount"),
    "negative": ({"monthly_amount": "-500"}, 422, "monthly_amount"),
    "absurd": ({"monthly_amount": "99999999999"}, 422, "monthly_amount"),
    "unparseable": ({"monthly_amount": "fem hundre"}, 422, "monthly_amount"),
    "float": ({"monthly_amount": 500.5}, 400, "monthly_amount"),
    "months zero": ({"months": 0}, 422, "months"),
    "months text": ({"months": "six"}, 400, "months"),
    "past date": ({"first_due_date": "2026-11-01"}, 422, "first_due_date"),
    "years away": ({"first_due_date": "2031-01-01"}, 422, "first_due_date"),
    "bad date": ({"first_due_date": "31.12.2026"}, 422, "first_due_date"),
    "not accepted": ({"monthly_amount": "500", "accepted": False}, 422, "accepted"),
    "acceptance left out": ({"monthly_amount": "500", "accepted": None}, 422, "accepted"),  # null is absent
}


@pytest.mark.parametrize("fields, status, field", BAD_PLANS.values(), ids=BAD_PLANS.keys())
async def test_bad_plan_input_gets_a_clear_answer_and_writes_nothing(client, auth, probe, fields, status, field):
    before = await probe.counts()
    body = {"accepted": True, **WEB, **fields}
    response = await client.post(case_url("100003", "/payment-plans"), json=body, headers=auth)
    assert response.status == status
    assert (await response.json())["error"]["field"] == field
    assert await probe.counts() == before


# Amounts that are no amount of money: each is a 422 naming the field, never a 500 and never echoed.
UNREASONABLE_AMOUNTS = {
    "27 digits": "1" + "0" * 26,
    "30 digits and decimals": "9" * 30 + ".99",
    "27 digits as whole kroner": 10**26,
    "an exponent": "1e30",
    "a huge exponent": "1E+999999999",
    "a tiny exponent": "1e-999999999",
    "not a number": "NaN",
    "infinity": "Infinity",
    "digits that are not ascii": "\uff15\uff10\uff10",  # fullwidth 500
    "underscores": "1_000",
}


@pytest.mark.parametrize("path", ["/payment-plans/quote", "/payment-plans"])
@pytest.mark.parametrize("amount", UNREASONABLE_AMOUNTS.values(), ids=UNREASONABLE_AMOUNTS.keys())
async def test_an_amount_of_any_size_or_notation_is_a_validation_error(client, auth, probe, path, amount):
    before = await probe.counts()
    body = {"monthly_amount": amount, "accepted": True, **WEB}
    response = await client.post(case_url("100003", path), json=body, headers=auth)
    assert response.status == 422
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == ("validation_error", "monthly_amount")
    assert str(amount) not in error["message"]
    assert await probe.counts() == before


@pytest.mark.parametrize("case_number, code", [("100006", "case_closed"), ("999999", None)])
async def test_no_plan_for_a_closed_or_unknown_case(client, auth, probe, case_number, code):
    before = await probe.counts()
    body = {"monthly_amount": "300", "accepted": True, **WEB}
    response = await client.post(case_url(case_number, "/payment-plans"), json=body, headers=auth)
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == ((409, code) if code else (404, "case_not_found"))
    assert await probe.counts() == before


async def test_no_plan_or_postponement_for_a_disputed_case(client, auth, probe):
    assert (
        await client.post(case_url("100002", "/disputes"), json={"reason": "aldri medlem", **WEB}, headers=auth)
    ).status == 201
    before = await probe.counts()
    for tail, body in (
        ("/payment-plans", {"monthly_amount": "300", "accepted": True, **WEB}),
        ("/payment-plans/quote", {}),
        ("/postponements", {"new_due_date": "2026-12-01", **WEB}),
    ):
        response = await client.post(case_url("100002", tail), json=body, headers=auth)
        assert response.status == 409 and (await response.json())["error"]["code"] == "case_disputed"
    assert await probe.counts() == before


# --- postponements -------------------------------------------------------------------------------


async def test_one_postponement_per_case_within_the_limit(client, auth, probe):
    body = {"new_due_date": "2026-12-05", **WEB}  # a Saturday
    response = await client.post(case_url("100001", "/postponements"), json=body, headers=auth)
    assert response.status == 201
    granted = await response.json()
    assert granted["new_due_date"] == "2026-12-07" and granted["status"] == "granted"
    assert (await client.post(case_url("100001", "/postponements"), json=body, headers=auth)).status == 200
    before = await probe.counts()
    second = await client.post(
        case_url("100001", "/postponements"), json={**body, "new_due_date": "2026-12-02"}, headers=auth
    )
    assert second.status == 409
    assert (await second.json())["error"]["code"] == "postponement_already_postponed"
    assert await probe.counts() == before


async def test_a_postponement_beyond_the_limit_names_the_latest_date_and_writes_nothing(client, auth, probe):
    before = await probe.counts()
    response = await client.post(
        case_url("100001", "/postponements"), json={"new_due_date": "2027-01-15", **WEB}, headers=auth
    )
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "postponement_too_long" and error["latest_date"] == "2026-12-09" and error["max_days"] == 14
    assert await probe.counts() == before


@pytest.mark.parametrize("day", ["2026-11-20", "2026-11-25", "2029-06-01", "neste uke"])
async def test_postponement_to_the_past_today_years_away_or_nonsense_is_refused(client, auth, probe, day):
    before = await probe.counts()
    response = await client.post(case_url("100001", "/postponements"), json={"new_due_date": day, **WEB}, headers=auth)
    assert response.status == 422 and (await response.json())["error"]["field"] == "new_due_date"
    assert await probe.counts() == before


# --- disputes ------------------------------------------------------------------------------------


async def test_a_dispute_stops_collection_and_is_recorded_once(client, auth, probe):
    reason = "Jeg har aldri vært medlem. Fnr 02919230056"
    response = await client.post(case_url("100002", "/disputes"), json={"reason": reason, **WEB}, headers=auth)
    assert response.status == 201
    dispute = await response.json()
    assert dispute["status"] == "open" and dispute["disputed"] is True and dispute["collection_stopped"] is True
    assert "02919230056" not in dispute["reason"] and "aldri vært medlem" in dispute["reason"]
    case = await get_case(client, auth, "100002")
    assert case["disputed"] is True and case["collection_stopped"] is True
    again = await client.post(case_url("100002", "/disputes"), json={"reason": "igjen", **WEB}, headers=auth)
    assert again.status == 200 and (await again.json())["id"] == dispute["id"]
    assert (await probe.counts())["disputes"] == 1


async def test_a_dispute_on_a_closed_case_or_with_a_bad_body_writes_nothing(client, auth, probe):
    before = await probe.counts()
    closed = await client.post(case_url("100006", "/disputes"), json={"reason": "x", **WEB}, headers=auth)
    assert closed.status == 409
    too_long = await client.post(case_url("100002", "/disputes"), json={"reason": "x" * 2001, **WEB}, headers=auth)
    assert too_long.status == 422
    no_channel = await client.post(case_url("100002", "/disputes"), json={"reason": "x"}, headers=auth)
    assert no_channel.status == 422
    assert await probe.counts() == before


# --- the date to pay by follows plans, postponements and disputes --------------------------------


async def test_a_plan_makes_its_next_installment_the_date_to_pay_by(client, auth):
    request = {"monthly_amount": "1000.00", "accepted": True, **WEB}
    plan = await (await client.post(case_url("100003", "/payment-plans"), json=request, headers=auth)).json()
    case = await get_case(client, auth, "100003")
    first = plan["installments"][0]
    assert case["pay_by"] == {
        "date": first["due_date"],
        "amount": first["amount"],
        "basis": "payment_plan",
        "passed": False,
    }


async def test_a_postponement_replaces_the_letters_deadline(client, auth):
    before = await get_case(client, auth, "100001")
    assert before["pay_by"]["basis"] == "notice" and before["pay_by"]["passed"] is True
    body = {"new_due_date": "2026-12-05", **WEB}  # a Saturday: granted to Monday 7 December
    assert (await client.post(case_url("100001", "/postponements"), json=body, headers=auth)).status == 201
    case = await get_case(client, auth, "100001")
    assert {key: case["pay_by"][key] for key in ("date", "basis", "passed")} == {
        "date": "2026-12-07",
        "basis": "postponement",
        "passed": False,
    }
    assert Decimal(case["pay_by"]["amount"]) > Decimal(case["balance"])  # with interest up to 7 December


async def test_a_dispute_leaves_no_date_to_pay_by(client, auth):
    assert (
        await client.post(case_url("100002", "/disputes"), json={"reason": "aldri medlem", **WEB}, headers=auth)
    ).status == 201
    case = await get_case(client, auth, "100002")
    assert case["pay_by"] == {"date": None, "amount": case["balance"], "basis": "collection_stopped", "passed": False}


# --- fee legality --------------------------------------------------------------------------------


async def test_demo_fees_are_within_their_caps(client, auth, probe):
    for number in ("100001", "100003", "100005"):
        case = await get_case(client, auth, number)
        fee_lines = [line for line in case["lines"] if "legal_cap" in line]
        assert fee_lines and all(not line["over_cap"] for line in fee_lines)
        assert all(Decimal(line["amount"]) <= Decimal(line["legal_cap"]) for line in fee_lines)
        assert case["fees_over_cap"] is False and case["fee_review_requested"] is False
    before = await probe.counts()
    response = await client.post(case_url("100001", "/fee-reviews"), json=WEB, headers=auth)
    assert response.status == 409 and (await response.json())["error"]["code"] == "no_fee_over_cap"
    assert await probe.counts() == before


async def test_a_fee_above_its_cap_is_flagged_and_sent_for_review(client, auth):
    async with client.app[CASE_SYSTEM].sessions() as session:
        case_id = (await session.execute(sa.select(Case.id).where(Case.case_number == "100004"))).scalar_one()
        session.add(
            ClaimLineRecord(
                case_id=case_id,
                type="collection_notice_fee",
                amount=Decimal("150.00"),
                description="Varsel",
                charged_on=date(2026, 11, 16),  # with the inkassovarsel, after the reminder ran out
            )
        )
        await session.commit()
    case = await get_case(client, auth, "100004")
    flagged = [line for line in case["lines"] if line.get("over_cap")]
    assert [(line["type"], line["amount"], line["legal_cap"]) for line in flagged] == [
        ("collection_notice_fee", "150.00", "37.50")  # 1/20 of 750 kroner, exactly
    ]
    assert case["fees_over_cap"] is True and case["fee_review_requested"] is False
    response = await client.post(case_url("100004", "/fee-reviews"), json=WEB, headers=auth)
    assert response.status == 201
    assert (await response.json())["fees_over_cap"][0]["legal_cap"] == "37.50"
    assert (await get_case(client, auth, "100004"))["fee_review_requested"] is True
    assert (await client.post(case_url("100004", "/fee-reviews"), json=WEB, headers=auth)).status == 200


# --- audit ---------------------------------------------------------------------------------------


async def test_every_read_and_write_is_audited_without_personal_data(client, auth, probe):
    await client.post(case_url("100003", "/payment-plans/quote"), json={"months": 6}, headers=auth)
    await client.post(case_url("100003", "/payment-plans"), json={"months": 6, "accepted": True, **WEB}, headers=auth)
    await client.get(case_url("100003", "/payment-plans"), headers=auth)
    await client.post(case_url("100002", "/disputes"), json={"reason": "feil", **WEB}, headers=auth)
    events = [
        event for event in await probe.audit_events() if event.action.split(".")[0] in {"payment_plan", "dispute"}
    ]
    assert [event.action for event in events] == [
        "payment_plan.quote",
        "payment_plan.create",
        "payment_plan.list",
        "dispute.create",
    ]
    for event in events:
        text = " ".join(str(value) for value in vars(event).values())
        assert "+4798765432" not in text and "Ola" not in text and "feil" not in (event.detail or "")
