"""Paying, postponing, disputing and hardship through the running stack: what the assistant said,
and what the case-system API shows afterwards. Every figure asserted is the case system's."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal

import aiohttp
import pytest

from actions.formatting import day
from bot.case_system.store import database as db
from bot.case_system.store.models import Handoff
from tests.e2e.rest_chat import api, handoffs_of, nb, say, verified

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]


async def test_ola_gets_a_plan_quoted_accepts_it_and_it_is_made_once(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        quoted = await verified(
            http, stack_settings, sender, "kan jeg betale 1000 kr i måneden?", "100003", "02.11.1992"
        )
        assert "forslag til nedbetalingsavtale for sak 100003" in quoted
        assert f"avdrag på {nb('1000.00')} i måneden" in quoted
        accepted = await say(http, stack_settings, sender, "ja")
        again = await say(http, stack_settings, sender, "ja")
        plans = (await api(http, stack_settings, "/cases/100003/payment-plans"))["payment_plans"]
        case = await api(http, stack_settings, "/cases/100003")

    assert len(plans) == 1
    plan = plans[0]
    assert plan["status"] == "active" and plan["monthly_amount"] == "1000.00" and plan["created_via"] == "rest"
    assert case["open_payment_plan"]["id"] == plan["id"]
    # Every installment said is an installment stored, and they add up to the balance plus the fee.
    for item in plan["installments"]:
        assert f"{day(item['due_date'], 'nb')}: {nb(item['amount'])}" in quoted
        assert f"{day(item['due_date'], 'nb')}: {nb(item['amount'])}" in accepted
    assert sum(Decimal(item["amount"]) for item in plan["installments"]) == Decimal(case["balance"]) + Decimal(
        plan["fee"]
    )
    assert f"KID {case['kid']}" in accepted and stack_settings.agency_account_number in accepted
    assert "bekreftelse på SMS" in accepted
    assert "forstod jeg ikke" not in quoted + accepted
    assert "Avtalen er registrert" not in again  # a second yes makes no second plan


async def test_ola_chooses_his_other_case_and_is_told_its_balance(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        first = await verified(http, stack_settings, sender, "hva skylder jeg?", "100002", "02.11.1992")
        chosen = await say(http, stack_settings, sender, '/inform{"case_number":"100003"}')
        balance = await say(http, stack_settings, sender, "hva skylder jeg?")
        case = await api(http, stack_settings, "/cases/100003")
        other = await api(http, stack_settings, "/cases/100002")

    assert "Du har 2 åpne saker" in first and f"Du skylder nå {nb(other['balance'])}" in first
    assert "Nå ser vi på sak 100003" in chosen
    assert f"Sak 100003 gjelder et krav fra {case['creditor']['name']}. Du skylder nå {nb(case['balance'])}" in balance


async def test_lars_too_small_installment_gets_the_nearest_plan_and_his_own_terms_go_to_a_person(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        offer = await verified(http, stack_settings, sender, "kan jeg betale 300 kr i måneden", "100005", "09.01.2001")
        declined = await say(http, stack_settings, sender, "nei")
        plans = (await api(http, stack_settings, "/cases/100005/payment-plans"))["payment_plans"]
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert f"Det minste avdraget vi kan avtale for denne saken, er {nb('500.00')} i måneden" in offer
    assert "høyst 18 måneder" in offer and "Det nærmeste jeg kan tilby" in offer
    assert "en saksbehandler" in declined and "vurderer det" in declined
    assert plans == []
    assert [(h["reason"], h["case_number"]) for h in handoffs] == [("payment_plan", "100005")]
    assert "monthly_amount=300.00" in handoffs[0]["summary"]


async def test_lars_disputes_collection_stops_and_no_plan_can_follow(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await verified(
            http, stack_settings, sender, "jeg bestrider kravet, jeg har aldri bestilt dette", "100005", "09.01.2001"
        )
        case = await api(http, stack_settings, "/cases/100005")
        handoffs = await handoffs_of(http, stack_settings, sender)
        plan = await say(http, stack_settings, sender, "kan jeg betale i avdrag?")
        plans = (await api(http, stack_settings, "/cases/100005/payment-plans"))["payment_plans"]

    assert "registrert at du bestrider kravet i sak 100005" in said and "stopper inndrivingen" in said
    assert case["disputed"] is True and case["collection_stopped"] is True
    assert [(h["reason"], h["case_number"]) for h in handoffs] == [("dispute", "100005")]
    assert "bestridt kravet i sak 100005" in plan and plans == []


async def test_kari_postpones_once_to_a_bank_day_and_a_second_time_goes_to_a_person(
    running_stack, stack_settings
) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        asked = await verified(http, stack_settings, sender, "kan jeg få utsettelse?", "100001", "14.03.1985")
        # The stack runs on the machine's clock: ask for a day within the configured limit.
        case = await api(http, stack_settings, "/cases/100001")
        wanted = date.today() + timedelta(days=7)
        granted = await say(http, stack_settings, sender, f"til {day(wanted, 'nb')}")
        second = await say(http, stack_settings, sender, "kan jeg få utsettelse til neste fredag")
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert "Til hvilken dato" in asked and case["status"] == "open"
    assert "Betalingen i sak 100001 er utsatt til" in granted and "Renten løper videre" in granted
    assert "forstod jeg ikke" not in granted
    assert "allerede utsatt én gang" in second
    assert [(h["reason"], h["case_number"]) for h in handoffs] == [("postponement", "100001")]


async def test_a_zero_installment_gets_a_clear_answer_and_nothing_is_written(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await verified(http, stack_settings, sender, "kan jeg betale 0 kr i måneden", "100001", "14.03.1985")
        plans = (await api(http, stack_settings, "/cases/100001/payment-plans"))["payment_plans"]

    assert "Det beløpet kan jeg ikke bruke" in said
    assert plans == []


async def test_crisis_words_give_crisis_contacts_and_a_priority_handoff_at_once(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await say(http, stack_settings, sender, "jeg har ikke råd og jeg vil ikke leve lenger")
        handoffs = await handoffs_of(http, stack_settings, sender)

    assert "116 123" in said and "113" in said
    assert [(h["reason"], h["priority"]) for h in handoffs] == [("hardship", "high")]


async def test_hardship_gets_debt_advice_and_a_priority_caseworker_on_request(running_stack, stack_settings) -> None:
    sender = f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        said = await say(http, stack_settings, sender, "jeg har mistet jobben og har ikke råd")
        before = await handoffs_of(http, stack_settings, sender)
        accepted = await say(http, stack_settings, sender, "ja")
        asked = await handoffs_of(http, stack_settings, sender)
        given = await say(http, stack_settings, sender, "ring meg på 912 34 567")
        handoffs = await handoffs_of(http, stack_settings, sender)
        contact = await handoff_contact(stack_settings, handoffs[0]["id"])

    assert "Ingen skal presse deg" in said and "55 55 33 39" in said
    assert "saksbehandler" in said and before == []
    # Not verified: how to reach them is asked first, then the handoff is made with it.
    assert "Hvordan kan vi nå deg?" in accepted and asked == []
    assert "sendt saken til en saksbehandler" in given and handoffs[0]["reference"] in given
    assert "912" not in given  # the number is not said back (it would be in the history)
    assert [(h["reason"], h["priority"]) for h in handoffs] == [("hardship", "high")]
    assert contact == ("+4791234567", None)
    assert all("912 34 567" not in line["text"] for line in handoffs[0]["transcript"])


async def test_an_unverified_debtor_who_asks_for_a_person_gives_an_address_or_declines(
    running_stack, stack_settings
) -> None:
    by_mail, declining = f"rest-{secrets.token_hex(8)}", f"rest-{secrets.token_hex(8)}"
    async with aiohttp.ClientSession() as http:
        asked = await say(http, stack_settings, by_mail, "I want to talk to a human")
        wrong = await say(http, stack_settings, by_mail, "kari at example")
        given = await say(http, stack_settings, by_mail, "kari.nordmann@example.no")
        mailed = await handoffs_of(http, stack_settings, by_mail)
        contact = await handoff_contact(stack_settings, mailed[0]["id"])
        again = await say(http, stack_settings, by_mail, "I want to talk to a human now")
        still = await handoffs_of(http, stack_settings, by_mail)
        await say(http, stack_settings, declining, "jeg vil snakke med et menneske")
        declined = await say(http, stack_settings, declining, "nei")
        unreachable = await handoffs_of(http, stack_settings, declining)

    assert "How can we reach you?" in asked
    assert "does not look like a phone number or an e-mail address" in wrong
    assert f"reference {mailed[0]['reference']}" in given and "@" not in given
    assert contact == (None, "kari.nordmann@example.no") and mailed[0]["case_number"] is None
    assert "added your message" in again and [h["id"] for h in still] == [mailed[0]["id"]]
    assert "ringe oss på" in declined and unreachable[0]["reference"] in declined
    assert await handoff_contact(stack_settings, unreachable[0]["id"]) == (None, None)


async def handoff_contact(settings, handoff_id: int) -> tuple:
    """The contact stored with a handoff (read from the case system's database: the API shows it
    to caseworkers only)."""
    engine = db.create_engine(settings)
    try:
        async with db.session_factory(engine)() as session:
            handoff = await session.get(Handoff, handoff_id)
            return handoff.contact_phone, handoff.contact_email
    finally:
        await engine.dispose()
