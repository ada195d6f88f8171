"""Answers what a verified debtor asked about their claim, from the case system's figures."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, language_of
from actions.disputes import record_dispute
from actions.formatting import day, money, percent
from actions.handoff import hand_off
from actions.payments import offer_case_choice, offer_plan, postpone
from actions.services import case_system, settings
from bot.case_system.contract.enums import CaseStatus, LineType
from bot.case_system.contract.responses import Case

# Topics asked before verification that start a flow of their own once the debtor is verified.
FLOW_TOPICS = ("payment_plan", "postponement", "dispute")


def say_breakdown(dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    """Each claim line in plain words, then payments and what is left to pay."""
    dispatcher.utter_message(response="utter_claim_breakdown")
    invoice = case.invoice
    for line in case.lines:
        details: dict[str, Any] = {"amount": money(line.amount, language)}
        if line.type is LineType.PRINCIPAL:
            details.update(invoice_number=invoice.number, due_date=day(invoice.due_date, language))
        elif line.type is LineType.LATE_PAYMENT_INTEREST:
            details.update(
                rate=percent(line.rate_percent, language),
                from_date=day(line.from_date, language),
                to_date=day(line.to_date, language),
            )
        dispatcher.utter_message(response=f"utter_claim_line_{line.type.value}", **details)
    if case.payments:
        dispatcher.utter_message(response="utter_claim_line_payments", amount=money(case.total_paid, language))
    dispatcher.utter_message(response="utter_claim_line_balance", amount=money(case.balance, language))
    if case.provisional_interest:
        dispatcher.utter_message(response="utter_interest_provisional")


def say_creditor(dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    invoice = case.invoice
    dispatcher.utter_message(
        response="utter_creditor",
        case_number=case.case_number,
        creditor=case.creditor.name,
        invoice_number=invoice.number,
        invoice_date=day(invoice.date, language),
        due_date=day(invoice.due_date, language),
        invoice_amount=money(invoice.amount, language),
    )


def say_stage(dispatcher: CollectingDispatcher, case: Case) -> None:
    dispatcher.utter_message(response=f"utter_stage_{case.stage.value}")


def say_balance(dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    dispatcher.utter_message(
        response="utter_balance",
        case_number=case.case_number,
        creditor=case.creditor.name,
        balance=money(case.balance, language),
    )


def say_payment_info(dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    """What to pay and by when, as the case system computed it, then where to pay it."""
    pay_by = case.pay_by
    details = {"amount": money(pay_by.amount, language), "balance": money(case.balance, language)}
    if pay_by.date is not None:
        details["deadline"] = day(pay_by.date, language)
    passed = "_passed" if pay_by.passed else ""
    dispatcher.utter_message(response=f"utter_pay_by_{pay_by.basis.value}{passed}", **details)
    config = settings()
    dispatcher.utter_message(
        response="utter_payment_info",
        account_number=config.agency_account_number,
        kid=case.kid,
        iban=config.agency_iban,
        bic=config.agency_bic,
    )


def say_payments(dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    if not case.payments:
        dispatcher.utter_message(response="utter_no_payments_registered", case_number=case.case_number)
        return
    payments = "\n".join(
        f"{day(payment.paid_on, language)}: {money(payment.amount, language)}" for payment in case.payments
    )
    dispatcher.utter_message(response="utter_payments_registered", case_number=case.case_number, payments=payments)


def answer(topic: str, dispatcher: CollectingDispatcher, case: Case, language: str) -> None:
    if case.status is CaseStatus.CLOSED:
        dispatcher.utter_message(response="utter_case_closed", case_number=case.case_number)
        return
    if topic == "balance":
        say_balance(dispatcher, case, language)
        say_breakdown(dispatcher, case, language)
    elif topic in ("explain", "fees", "interest"):
        say_creditor(dispatcher, case, language)
        say_breakdown(dispatcher, case, language)
        say_stage(dispatcher, case)
    elif topic in ("creditor", "why_contacted"):
        say_creditor(dispatcher, case, language)
        say_stage(dispatcher, case)
    elif topic == "payment_info":
        say_payment_info(dispatcher, case, language)
    elif topic == "payments":
        say_payments(dispatcher, case, language)


class ActionAnswerTopic(Action):
    def name(self) -> str:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        topic = tracker.get_slot("pending_topic")
        case_number = tracker.get_slot("verified_case_number")
        if not topic or not case_number:
            dispatcher.utter_message(response="utter_verified_what_next")
            return []
        if topic in FLOW_TOPICS:
            return [SlotSet("pending_topic", None), *await start_flow(topic, dispatcher, tracker)]
        try:
            case = await case_system().get_case(case_number, caller=caller_for(tracker, purpose=f"answer_{topic}"))
        except (CaseSystemUnavailable, CaseSystemRejected):
            dispatcher.utter_message(response="utter_case_system_unavailable", agency_phone=settings().agency_phone)
            return []
        answer(topic, dispatcher, case, language_of(tracker))
        if case.fees_over_cap and case.status is not CaseStatus.CLOSED:
            await send_fees_for_review(dispatcher, tracker, case)
        if not _choice_offered(tracker):
            offer_case_choice(dispatcher, tracker)
        return [SlotSet("pending_topic", None), *_follow_up(topic, case)]


def _follow_up(topic: str, case: Case) -> list[EventType]:
    """A payment the debtor made that has not arrived: the offer of a caseworker comes next, as its
    own question, so a typed or spoken yes is understood as well as a tapped button."""
    if topic == "payments" and not case.payments and case.status is not CaseStatus.CLOSED:
        return [SlotSet("handoff_reason", "payment_not_found"), FollowupAction("utter_offer_caseworker")]
    return []


async def start_flow(topic: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """A plan, postponement or dispute asked for before verification, now that the debtor is verified."""
    flows = {"payment_plan": offer_plan, "postponement": postpone, "dispute": record_dispute}
    return await flows[topic](dispatcher, tracker)


async def send_fees_for_review(dispatcher: CollectingDispatcher, tracker: Tracker, case: Case) -> None:
    """A fee above its legal cap is never defended: say it will be reviewed, flag the case, hand off."""
    dispatcher.utter_message(response="utter_fee_under_review")
    try:
        await case_system().request_fee_review(case.case_number, caller=caller_for(tracker, purpose="fee_review"))
    except CaseSystemRejected:
        pass  # already flagged, or no longer over the cap: the handoff still goes to a person
    except CaseSystemUnavailable:
        dispatcher.utter_message(response="utter_case_system_unavailable", agency_phone=settings().agency_phone)
        return
    over = [line.type.value for line in case.lines if line.over_cap]
    await hand_off(
        dispatcher,
        tracker,
        reason="fee_review",
        note=f"Fee above its legal cap: {', '.join(over)}. Review before collecting it.",
        case_number=case.case_number,
    )


def _choice_offered(tracker: Tracker) -> bool:
    return any(
        event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == "utter_choose_case"
        for event in tracker.events
    )
