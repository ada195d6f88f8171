"""Answers what a verified debtor asked about their claim, from the case system's figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, channel_of, language_of
from actions.disputes import record_dispute
from actions.formatting import as_list, day, money, percent, render
from actions.handoff import hand_off
from actions.payments import offer_case_choice, offer_plan, postpone
from actions.services import case_system, settings
from bot.case_system.contract.enums import CaseStatus, InstallmentStatus, LineType, PayByBasis, PaymentPlanStatus
from bot.case_system.contract.responses import Case, ClaimLine, Invoice

# Topics asked before verification that start a flow of their own once the debtor is verified.
FLOW_TOPICS = ("payment_plan", "postponement", "dispute")
FEE_TYPES = (LineType.REMINDER_FEE, LineType.COLLECTION_NOTICE_FEE, LineType.COLLECTION_FEE)


@dataclass(frozen=True)
class Reply:
    """Where and how an answer is said: the debtor's language and channel, and the domain whose
    responses the lines of a list are rendered from."""

    dispatcher: CollectingDispatcher
    domain: DomainDict
    language: str
    channel: str

    def say(self, response: str, **values: Any) -> None:
        self.dispatcher.utter_message(response=response, **values)

    def lines(self, items: list[tuple[str, dict[str, Any]]]) -> str:
        """Each (response, values) rendered, joined as one list for the channel."""
        return as_list([render(self.domain, name, self.language, **values) for name, values in items], self.channel)


def _line_values(line: ClaimLine, invoice: Invoice, language: str) -> dict[str, Any]:
    values: dict[str, Any] = {"amount": money(line.amount, language)}
    if line.type is LineType.PRINCIPAL:
        values.update(invoice_number=invoice.number, due_date=day(invoice.due_date, language))
    elif line.type is LineType.LATE_PAYMENT_INTEREST:
        values.update(
            rate=percent(line.rate_percent, language),
            from_date=day(line.from_date, language),
            to_date=day(line.to_date, language),
        )
    return values


def say_breakdown(reply: Reply, case: Case) -> None:
    """The whole claim in one message: each line, payments, what is left to pay."""
    language = reply.language
    items = [(f"utter_claim_line_{line.type.value}", _line_values(line, case.invoice, language)) for line in case.lines]
    if case.payments:
        items.append(("utter_claim_line_payments", {"amount": money(case.total_paid, language)}))
    items.append(("utter_claim_line_balance", {"amount": money(case.balance, language)}))
    reply.say("utter_claim_breakdown", case_number=case.case_number, lines=reply.lines(items))
    if case.provisional_interest:
        reply.say("utter_interest_provisional")


def say_interest(reply: Reply, case: Case) -> None:
    """Why interest runs, the law, and each period with its rate (as the case system computed it)."""
    periods = [line for line in case.lines if line.type is LineType.LATE_PAYMENT_INTEREST]
    if not periods:
        reply.say("utter_interest_none", case_number=case.case_number)
        return
    items = [
        (f"utter_claim_line_{line.type.value}", _line_values(line, case.invoice, reply.language)) for line in periods
    ]
    reply.say("utter_interest_explained", due_date=day(case.invoice.due_date, reply.language), lines=reply.lines(items))
    if case.provisional_interest:
        reply.say("utter_interest_provisional")


def say_fees(reply: Reply, case: Case) -> None:
    """Each fee: what it is for, when it may be charged, its legal cap on the day it was charged."""
    language = reply.language
    fees = [line for line in case.lines if line.type in FEE_TYPES]
    if not fees:
        reply.say("utter_fees_none", case_number=case.case_number)
        return
    items = [
        (
            f"utter_fee_{line.type.value}",
            {
                "amount": money(line.amount, language),
                "charged_on": day(line.from_date, language) if line.from_date else "",
                "cap": money(line.legal_cap, language) if line.legal_cap is not None else "-",
            },
        )
        for line in fees
    ]
    reply.say("utter_fees_explained", case_number=case.case_number, lines=reply.lines(items))
    if not case.fees_over_cap:
        reply.say("utter_fees_dispute_hint")


def say_creditor(reply: Reply, case: Case) -> None:
    invoice, language = case.invoice, reply.language
    reply.say(
        "utter_creditor",
        case_number=case.case_number,
        creditor=case.creditor.name,
        invoice_number=invoice.number,
        invoice_date=day(invoice.date, language),
        due_date=day(invoice.due_date, language),
        invoice_amount=money(invoice.amount, language),
    )


def say_invoice(reply: Reply, case: Case) -> None:
    invoice, language = case.invoice, reply.language
    reply.say(
        "utter_invoice",
        creditor=case.creditor.name,
        invoice_number=invoice.number,
        invoice_date=day(invoice.date, language),
        due_date=day(invoice.due_date, language),
        invoice_amount=money(invoice.amount, language),
        description=invoice.description.rstrip("."),
    )


def say_stage(reply: Reply, case: Case) -> None:
    """What the stage means and what happens next, with the letter's deadline when there is one."""
    reply.say(f"utter_stage_{case.stage.value}")
    pay_by = case.pay_by
    if pay_by.basis is PayByBasis.NOTICE and pay_by.date is not None:
        passed = "_passed" if pay_by.passed else ""
        reply.say(f"utter_stage_deadline{passed}", deadline=day(pay_by.date, reply.language))


def say_balance(reply: Reply, case: Case) -> None:
    reply.say(
        "utter_balance",
        case_number=case.case_number,
        creditor=case.creditor.name,
        balance=money(case.balance, reply.language),
    )


def say_case_state(reply: Reply, case: Case, *, skip_pay_by: bool = False) -> None:
    """What changes what the debtor owes or must do: an active plan (next installment, what is
    left), a postponement, a dispute or stopped collection. `skip_pay_by`: the plan or
    postponement was said already (the payment answer states it as the date to pay by)."""
    language = reply.language
    plan = case.open_payment_plan
    if plan is not None and plan.status is PaymentPlanStatus.ACTIVE and not skip_pay_by:
        unpaid = [installment for installment in plan.installments if installment.status is not InstallmentStatus.PAID]
        if unpaid:
            first = unpaid[0]
            missed = first.status is InstallmentStatus.MISSED or (
                case.pay_by.basis is PayByBasis.PAYMENT_PLAN and case.pay_by.passed
            )
            reply.say(
                "utter_case_state_payment_plan_missed" if missed else "utter_case_state_payment_plan",
                amount=money(first.amount, language),
                due_date=day(first.due_date, language),
                remaining=money(sum((Decimal(i.amount) for i in unpaid), Decimal("0")), language),
                count=len(unpaid),
            )
    elif case.pay_by.basis is PayByBasis.POSTPONEMENT and case.pay_by.date and not skip_pay_by:
        reply.say("utter_case_state_postponement", deadline=day(case.pay_by.date, language))
    if case.disputed:
        reply.say("utter_case_state_disputed")
    elif case.collection_stopped:
        reply.say("utter_case_state_collection_stopped")


def say_payment_info(reply: Reply, case: Case) -> None:
    """What to pay and by when, as the case system computed it, then where to pay it."""
    language, pay_by = reply.language, case.pay_by
    details = {"amount": money(pay_by.amount, language), "balance": money(case.balance, language)}
    if pay_by.date is not None:
        details["deadline"] = day(pay_by.date, language)
    passed = "_passed" if pay_by.passed else ""
    reply.say(f"utter_pay_by_{pay_by.basis.value}{passed}", **details)
    if pay_by.basis is PayByBasis.PAYMENT_PLAN and case.collection_stopped:
        reply.say("utter_case_state_disputed" if case.disputed else "utter_case_state_collection_stopped")
    config = settings()
    reply.say(
        "utter_payment_info",
        account_number=config.agency_account_number,
        kid=case.kid,
        iban=config.agency_iban,
        bic=config.agency_bic,
    )


def say_payments(reply: Reply, case: Case) -> None:
    if not case.payments:
        reply.say("utter_no_payments_registered", case_number=case.case_number)
        return
    payments = "\n".join(
        f"{day(payment.paid_on, reply.language)}: {money(payment.amount, reply.language)}" for payment in case.payments
    )
    reply.say("utter_payments_registered", case_number=case.case_number, payments=payments)


def answer(topic: str, reply: Reply, case: Case) -> None:
    """The answer to the question asked, and what the case's state adds to it where it matters."""
    if case.status is CaseStatus.CLOSED:
        reply.say("utter_case_closed", case_number=case.case_number)
        return
    if topic == "balance":
        say_balance(reply, case)
        say_case_state(reply, case)
    elif topic == "explain":
        say_creditor(reply, case)
        say_breakdown(reply, case)
        say_stage(reply, case)
        say_case_state(reply, case)
    elif topic == "interest":
        say_interest(reply, case)
    elif topic == "fees":
        say_fees(reply, case)
    elif topic == "stage":
        say_stage(reply, case)
        say_case_state(reply, case)
    elif topic == "invoice":
        say_invoice(reply, case)
    elif topic in ("creditor", "why_contacted"):
        say_creditor(reply, case)
        say_stage(reply, case)
    elif topic == "payment_info":
        say_payment_info(reply, case)
    elif topic == "payments":
        say_payments(reply, case)


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
        answer(topic, Reply(dispatcher, domain, language_of(tracker), channel_of(tracker)), case)
        handed_off: list[EventType] = []
        if case.fees_over_cap and case.status is not CaseStatus.CLOSED:
            handed_off = await send_fees_for_review(dispatcher, tracker, case)
        if not _choice_offered(tracker):
            offer_case_choice(dispatcher, tracker)
        return [SlotSet("pending_topic", None), *handed_off, *_follow_up(topic, case)]


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


async def send_fees_for_review(dispatcher: CollectingDispatcher, tracker: Tracker, case: Case) -> list[EventType]:
    """A fee above its legal cap is never defended: say it will be reviewed, flag the case, hand off."""
    dispatcher.utter_message(response="utter_fee_under_review")
    try:
        await case_system().request_fee_review(case.case_number, caller=caller_for(tracker, purpose="fee_review"))
    except CaseSystemRejected:
        pass  # already flagged, or no longer over the cap: the handoff still goes to a person
    except CaseSystemUnavailable:
        dispatcher.utter_message(response="utter_case_system_unavailable", agency_phone=settings().agency_phone)
        return []
    over = [line.type.value for line in case.lines if line.over_cap]
    return await hand_off(
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
