"""Explaining the claim through the running stack: what the assistant said, and what the case-system
API shows afterwards. Every figure asserted is the case system's; only questions are literals."""

from __future__ import annotations

import re
import secrets
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal

import aiohttp
import pytest
import sqlalchemy as sa

from actions.formatting import day
from bot.case_system.store import database as db
from bot.case_system.store.models import (
    Case,
    ClaimLineRecord,
    HandoffMessageRecord,
)
from bot.config import Settings
from tests.e2e.rest_chat import (
    api,
    buttons_of,
    en,
    handoffs_of,
    nb,
    say,
    text_of,
    undone_afterwards,
    verified,
    verified_replies,
)

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]

DEMO_CASES = ("100001", "100002", "100003", "100004", "100005", "100006")


async def test_kari_has_her_claim_explained_line_by_line_from_the_case_system(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        answer = await verified_replies(http, stack_settings, sender, "kan du forklare kravet?", "100001", "14.03.1985")
        case = await api(http, stack_settings, "/cases/100001")

    said = text_of(answer)
    invoice = case["invoice"]
    assert f"kommer fra {case['creditor']['name']}" in said
    assert f"faktura {invoice['number']}" in said and f"forfalt {day(invoice['due_date'], 'nb')}" in said
    # The breakdown is one message, a list: each line of the claim, then what is left to pay.
    (breakdown,) = [text_of([reply]) for reply in answer if "Slik er beløpet" in reply.get("text", "")]
    items = breakdown.split("\n• ")
    assert len(items) == 1 + len(case["lines"]) + 1
    for item, line in zip(items[1:], case["lines"]):
        assert item.endswith(nb(line["amount"])), line
    assert items[-1] == f"Å betale: {nb(case['balance'])}"
    assert case["stage"] == "betalingsoppfordring" and "stadiet betalingsoppfordring" in said
    # Inkassoloven § 10: the debtor may pay or object.
    assert "Du kan betale, eller du kan si fra innen fristen hvis du mener kravet er feil" in said
    assert "Betaler du ikke og sier ikke fra, kan saken gå videre til rettslig inndriving" in said


async def test_each_question_about_the_claim_gets_its_own_answer(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        interest = await verified(http, stack_settings, sender, "hvorfor er det renter?", "100001", "14.03.1985")
        fees = await say(http, stack_settings, sender, "hvorfor må jeg betale gebyr?")
        stage = await say(http, stack_settings, sender, "hva skjer videre med saken?")
        invoice = await say(http, stack_settings, sender, "hvilken faktura gjelder dette?")
        case = await api(http, stack_settings, "/cases/100001")

    for answer in (interest, fees, stage, invoice):
        assert "Slik er beløpet" not in answer  # not the whole breakdown again
    periods = [line for line in case["lines"] if line["type"] == "late_payment_interest"]
    assert "forsinkelsesrenteloven § 3" in interest and "Renten løper hver dag til kravet er betalt" in interest
    for line in periods:
        assert f"{line['rate_percent'].replace('.', ',')} %" in interest and nb(line["amount"]) in interest
    for line in case["lines"]:
        if line["type"].endswith("_fee"):
            assert nb(line["amount"]) in fees and f"Lovens tak: {nb(line['legal_cap'])}" in fees
    assert "minst 14 dager etter forfall" in fees
    assert "stadiet betalingsoppfordring" in stage and "inkassoloven § 10" in stage
    assert case["invoice"]["number"] in invoice and case["invoice"]["description"].rstrip(".") in invoice


async def test_what_legal_collection_means_is_said_to_lars(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await verified(http, stack_settings, sender, "hva betyr rettslig inndriving?", "100005", "09.01.2001")

    assert "Saken er til rettslig inndriving. Det betyr" in said and "trekk i lønn" in said
    assert "Slik er beløpet" not in said


async def test_after_a_plan_and_a_dispute_the_balance_says_the_next_installment_and_that_collection_stopped(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http, undone_afterwards(stack_settings, "100004"):
        await verified(http, stack_settings, sender, "kan jeg betale 1000 kr i måneden?", "100004", "27.06.1978")
        made = await say(http, stack_settings, sender, "ja")
        disputed = await say(http, stack_settings, sender, "jeg bestrider kravet, jeg har aldri hatt bredbånd hos dem")
        more = await say(http, stack_settings, sender, "jeg har aldri fått noen faktura fra dem heller")
        balance = await say(http, stack_settings, sender, "hvor mye skylder jeg nå?")
        case = await api(http, stack_settings, "/cases/100004")
        handoffs = await handoffs_of(http, stack_settings, sender)
        messages = await handoff_messages(stack_settings, handoffs[0]["id"])

    assert "Avtalen er registrert for sak 100004" in made
    assert "bestrider kravet i sak 100004" in disputed
    assert [(h["reason"], h["case_number"]) for h in handoffs] == [("dispute", "100004")]
    assert re.fullmatch(r"H-[0-9A-Z]{6}", handoffs[0]["reference"]) and handoffs[0]["reference"] in disputed
    # The next message about it is added to the handoff, not confirmed as a new dispute.
    assert "bestrider kravet i sak 100004" not in more and "lagt meldingen til saken" in more
    assert messages == [("debtor", "jeg har aldri fått noen faktura fra dem heller")]
    plan = case["open_payment_plan"]
    first = next(item for item in plan["installments"] if item["status"] != "paid")
    assert f"Du skylder nå {nb(case['balance'])}" in balance
    assert f"neste avdrag er {nb(first['amount'])} med forfall {day(first['due_date'], 'nb')}" in balance
    assert "innkrevingen er stanset" in balance
    assert case["disputed"] is True and case["collection_stopped"] is True


async def handoff_messages(settings: Settings, handoff_id: int) -> list[tuple[str, str]]:
    engine = db.create_engine(settings)
    try:
        async with db.session_factory(engine)() as session:
            query = sa.select(HandoffMessageRecord).where(HandoffMessageRecord.handoff_id == handoff_id)
            return [(record.sender.value, record.text) for record in (await session.execute(query)).scalars()]
    finally:
        await engine.dispose()


async def test_why_we_made_contact_is_answered_in_general_before_verification(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await say(http, stack_settings, sender, "hvorfor har dere kontaktet meg?")
        cases = [await api(http, stack_settings, f"/cases/{number}") for number in DEMO_CASES]

    assert "Vi er et inkassoselskap" in said and "på vegne av bedrifter" in said
    assert "ikke er betalt innen fristen" in said and "Hvis du bekrefter hvem du er" in said
    # Nothing about anyone: no creditor, no figure, no name, no case or invoice number.
    for case in cases:
        secrets_of_case = [case["creditor"]["name"], case["debtor"]["first_name"], case["case_number"]]
        secrets_of_case += [case["invoice"]["number"], nb(case["balance"]), nb(case["invoice"]["amount"])]
        secrets_of_case += [nb(line["amount"]) for line in case["lines"]]
        for secret in secrets_of_case:
            assert secret not in said, secret


async def test_ola_is_offered_his_other_case_and_the_one_he_chooses_is_kept(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        first = await verified_replies(http, stack_settings, sender, "hvem er kreditor?", "100002", "02.11.1992")
        offered = buttons_of(first)
        # The debtor types the number the button shows.
        chosen = await say(http, stack_settings, sender, offered[0]["title"])
        creditor = await say(http, stack_settings, sender, "hvem er kravet fra?")
        balance = await say(http, stack_settings, sender, "hvor mye skylder jeg")
        verified_with = await api(http, stack_settings, "/cases/100002")
        other = await api(http, stack_settings, "/cases/100003")

    first_text = text_of(first)
    assert "Du har 2 åpne saker" in first_text and f"kommer fra {verified_with['creditor']['name']}" in first_text
    assert [button["title"] for button in offered] == ["100003"]
    assert "Nå ser vi på sak 100003" in chosen
    assert f"Kravet i sak 100003 kommer fra {other['creditor']['name']}" in creditor
    assert verified_with["creditor"]["name"] not in creditor
    assert f"Sak 100003 gjelder et krav fra {other['creditor']['name']}" in balance
    assert f"Du skylder nå {nb(other['balance'])}" in balance
    assert nb(verified_with["balance"]) not in balance


async def test_ola_who_says_he_has_paid_is_told_the_payments_registered(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await verified(http, stack_settings, sender, "jeg har betalt", "100003", "02.11.1992")
        case = await api(http, stack_settings, "/cases/100003")

    assert case["payments"], "the demo case has a payment"
    assert "Vi har registrert disse innbetalingene på sak 100003" in said
    for payment in case["payments"]:
        assert f"{day(payment['paid_on'], 'nb')}: {nb(payment['amount'])}" in said
    assert "bankdager" not in said


async def test_kari_whose_payment_has_not_arrived_hears_why_and_gets_a_caseworker_on_a_tap(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        answer = await verified_replies(http, stack_settings, sender, "jeg har allerede betalt", "100001", "14.03.1985")
        case = await api(http, stack_settings, "/cases/100001")
        before = await handoffs_of(http, stack_settings, sender)
        offered = buttons_of(answer)
        tapped = await say(http, stack_settings, sender, offered[0]["payload"])
        handoffs = await handoffs_of(http, stack_settings, sender)

    said = text_of(answer)
    assert case["payments"] == []
    assert [button["title"] for button in offered] == ["Ja, takk", "Nei takk"]
    assert "Vi har ikke registrert noen innbetaling på sak 100001" in said
    assert "1 til 3 bankdager" in said and "en saksbehandler" in said
    assert before == []
    assert [(h["case_number"], h["status"], h["reason"]) for h in handoffs] == [("100001", "open", "payment_not_found")]
    assert f"referanse {handoffs[0]['reference']}" in tapped


async def test_a_typed_yes_to_the_caseworker_offer_for_a_missing_payment_is_honoured(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        await verified(http, stack_settings, sender, "jeg har allerede betalt", "100001", "14.03.1985")
        said = await say(http, stack_settings, sender, "ja")
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert [(h["case_number"], h["reason"]) for h in handoffs] == [("100001", "payment_not_found")]
    assert f"referanse {handoffs[0]['reference']}" in said


@asynccontextmanager
async def fee_line(settings: Settings, case_number: str, **line):
    """A fee line added to the stack's case-system database for the duration of the block; the case
    is left as it was afterwards (line gone, fee-review flag as before), since the stack is shared."""
    engine = db.create_engine(settings)
    sessions = db.session_factory(engine)
    try:
        async with sessions() as session:
            case = (await session.execute(sa.select(Case).where(Case.case_number == case_number))).scalar_one()
            flagged_before = case.fee_review_requested_at
            record = ClaimLineRecord(case_id=case.id, **line)
            session.add(record)
            await session.commit()
        try:
            yield
        finally:
            async with sessions() as session:
                await session.execute(sa.delete(ClaimLineRecord).where(ClaimLineRecord.id == record.id))
                await session.execute(
                    sa.update(Case).where(Case.id == case.id).values(fee_review_requested_at=flagged_before)
                )
                await session.commit()
    finally:
        await engine.dispose()


async def test_a_fee_above_its_legal_cap_is_not_defended_but_sent_for_review(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    # A reminder fee (purregebyr) ten times its cap (1/20 of the inkassosats), charged a week ago.
    charged_on = date.today() - timedelta(days=7)
    async with aiohttp.ClientSession() as http:
        async with fee_line(
            stack_settings,
            "100004",
            type="reminder_fee",
            amount=Decimal("350.00"),
            description="Purregebyr",
            charged_on=charged_on,
        ):
            before = await api(http, stack_settings, "/cases/100004")
            said = await verified(http, stack_settings, sender, "why are the fees so high?", "100004", "27.06.1978")
            after = await api(http, stack_settings, "/cases/100004")
            handoffs = await handoffs_of(http, stack_settings, sender)
            again = await say(http, stack_settings, sender, "what do I owe?")
            handoffs_later = await handoffs_of(http, stack_settings, sender)
        restored = await api(http, stack_settings, "/cases/100004")

    over = [line for line in before["lines"] if line.get("over_cap")]
    assert [(line["amount"], line["from_date"]) for line in over] == [("350.00", charged_on.isoformat())]
    assert Decimal(over[0]["legal_cap"]) < Decimal(over[0]["amount"])
    assert before["fees_over_cap"] is True and before["fee_review_requested"] is False

    assert "appears to be higher than the law allows" in said and "A caseworker will review it" in said
    assert f"Reminder fee {en(over[0]['amount'])}" in said
    assert after["fee_review_requested"] is True
    assert [(h["reason"], h["case_number"]) for h in handoffs] == [("fee_review", "100004")]
    assert "reminder_fee" in handoffs[0]["summary"]
    assert f"reference {handoffs[0]['reference']}" in said
    # Asked again in the same conversation: still not defended, and still the one handoff.
    assert "A caseworker will review it" in again and f"You now owe {en(after['balance'])}" in again
    assert handoffs_later == handoffs

    assert restored["fees_over_cap"] is False and restored["fee_review_requested"] is False


async def test_a_huge_installment_and_impossible_postponement_dates_get_clear_answers_and_nothing_is_written(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    # The stack runs on the machine's clock: a month ago, and three years ahead.
    a_month_ago = day(date.today() - timedelta(days=30), "nb")
    in_three_years = day(date.today() + timedelta(days=3 * 365), "nb")
    async with aiohttp.ClientSession() as http:
        before = await api(http, stack_settings, "/cases/100002")
        plans_before = await api(http, stack_settings, "/cases/100002/payment-plans")
        huge = await verified(
            http, stack_settings, sender, "kan jeg betale 10000000 kr i måneden", "100002", "02.11.1992"
        )
        past = await say(http, stack_settings, sender, f"kan jeg få utsettelse til {a_month_ago}")
        far = await say(http, stack_settings, sender, f"kan jeg få utsettelse til {in_three_years}")
        after = await api(http, stack_settings, "/cases/100002")
        plans_after = await api(http, stack_settings, "/cases/100002/payment-plans")
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert f"Det beløpet dekker hele kravet ({nb(before['balance'])})" in huge
    assert "forslag til nedbetalingsavtale" not in huge
    for answer in (past, far):
        assert "Den datoen kan jeg ikke bruke: den må være etter i dag og innen et år" in answer
    assert plans_after == plans_before
    assert after["open_payment_plan"] is None and after["pay_by"]["basis"] == before["pay_by"]["basis"] == "notice"
    assert handoffs == []


async def test_a_negative_installment_gets_a_clear_answer_and_nothing_is_written(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        plans_before = await api(http, stack_settings, "/cases/100002/payment-plans")
        said = await verified(http, stack_settings, sender, "kan jeg betale -500 kr i måneden", "100002", "02.11.1992")
        plans_after = await api(http, stack_settings, "/cases/100002/payment-plans")

    assert plans_after == plans_before
    assert "Det beløpet kan jeg ikke bruke" in said and "forslag til nedbetalingsavtale" not in said


async def test_ingrids_closed_case_gets_no_plan_and_no_postponement(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        plan = await verified(http, stack_settings, sender, "kan jeg betale 500 kr i måneden", "100006", "30.09.1964")
        postponement = await say(http, stack_settings, sender, "kan jeg få utsettelse til neste fredag")
        case = await api(http, stack_settings, "/cases/100006")
        plans = (await api(http, stack_settings, "/cases/100006/payment-plans"))["payment_plans"]
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert case["status"] == "closed" and case["balance"] == "0.00"
    for answer in (plan, postponement):
        assert "Sak 100006 er avsluttet, og du skylder ingenting på den" in answer
    assert plans == [] and case["pay_by"]["basis"] == "none" and handoffs == []
