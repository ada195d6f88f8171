"""Payment plans, postponements and choosing a case: dialogue turned into case-system calls.

Every figure said comes from the case system's answer, formatted for the debtor's language; the
terms offered are kept in a slot and sent back unchanged on acceptance, where the case system
quotes them again before it creates anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.case_system_client import CaseSystemRejected, CaseSystemUnavailable
from actions.conversation import caller_for, language_of
from actions.formatting import day, money, percent
from actions.handoff import hand_off
from actions.services import case_system, settings
from bot.case_system.contract.enums import CaseStatus, Confirmation, InstallmentStatus, PlanProblem
from bot.case_system.contract.responses import PaymentPlan, PlanQuote

FLOW = "payment_flow"
CLEAR_PROPOSAL = [SlotSet("amount", None), SlotSet("months", None), SlotSet("date", None)]


def unavailable(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(response="utter_case_system_unavailable", agency_phone=settings().agency_phone)
    return [SlotSet(FLOW, None)]


# --- proposals -----------------------------------------------------------------------------------


def kroner(ore: Any) -> Optional[str]:
    """The amount entity (integer øre) as the API's money string; None when absent or not a number."""
    if ore is None or isinstance(ore, bool):
        return None
    try:
        value = Decimal(str(ore))
    except ArithmeticError:
        return "invalid"
    if value != value.to_integral_value():
        return "invalid"
    return f"{value / 100:.2f}"


def proposal_from(tracker: Tracker) -> dict[str, Any]:
    proposal: dict[str, Any] = {}
    amount = kroner(tracker.get_slot("amount"))
    if amount is not None:
        proposal["monthly_amount"] = amount
    months = tracker.get_slot("months")
    if months is not None:
        try:
            proposal["months"] = int(months)
        except (TypeError, ValueError):
            proposal["months"] = 0
    first_due = tracker.get_slot("date")
    if first_due:
        proposal["first_due_date"] = str(first_due)
    return proposal


def terms_of(quote: PlanQuote) -> dict[str, Any]:
    """The terms that reproduce `quote` (its installment and first due date), kept in a slot."""
    return {"monthly_amount": quote.monthly_amount, "first_due_date": quote.first_due_date.isoformat()}


def schedule_text(installments: list, language: str) -> str:
    return "\n".join(f"{day(item.due_date, language)}: {money(item.amount, language)}" for item in installments)


def say_quote(dispatcher: CollectingDispatcher, quote: PlanQuote, language: str) -> None:
    dispatcher.utter_message(
        response="utter_plan_quote",
        months=quote.months,
        monthly_amount=money(quote.monthly_amount, language),
        first_due_date=day(quote.first_due_date, language),
        total=money(quote.total, language),
        schedule=schedule_text(quote.installments, language),
    )
    if Decimal(quote.fee) > 0:
        dispatcher.utter_message(response="utter_plan_fee", fee=money(quote.fee, language))
    else:
        dispatcher.utter_message(response="utter_plan_no_fee")
    dispatcher.utter_message(
        response="utter_plan_interest",
        rate=percent(quote.interest_rate_percent, language) if quote.interest_rate_percent else "",
        estimated_interest=money(quote.estimated_interest, language),
    )


def say_active_plan(dispatcher: CollectingDispatcher, plan: PaymentPlan, case_number: str, language: str) -> None:
    due = [item for item in plan.installments if item.status is InstallmentStatus.DUE]
    dispatcher.utter_message(
        response="utter_plan_active",
        case_number=case_number,
        monthly_amount=money(plan.monthly_amount, language),
        schedule=schedule_text(due, language),
    )


async def offer_plan(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Quote what the debtor proposed (or the policy's longest plan) and ask them to accept."""
    case_number = tracker.get_slot("verified_case_number")
    language = language_of(tracker)
    caller = caller_for(tracker, purpose="payment_plan")
    proposal = proposal_from(tracker)
    try:
        case = await case_system().get_case(case_number, caller=caller)
        if case.status is CaseStatus.CLOSED:
            dispatcher.utter_message(response="utter_case_closed", case_number=case_number)
            return [SlotSet(FLOW, None), *CLEAR_PROPOSAL]
        if case.disputed or case.collection_stopped:
            dispatcher.utter_message(response="utter_plan_case_disputed", case_number=case_number)
            return [SlotSet(FLOW, None), *CLEAR_PROPOSAL]
        if case.open_payment_plan is not None:
            say_active_plan(dispatcher, case.open_payment_plan, case_number, language)
            return [SlotSet(FLOW, None), *CLEAR_PROPOSAL]
        answer = await case_system().quote_payment_plan(case_number, proposal, caller=caller)
    except CaseSystemUnavailable:
        return unavailable(dispatcher)
    except CaseSystemRejected as rejected:
        if rejected.status == 422:  # zero, negative, absurd or unreadable amounts, impossible dates
            field = rejected.details.get("field")
            field = field if field in ("months", "first_due_date") else "monthly_amount"
            dispatcher.utter_message(response=f"utter_plan_invalid_{field}")
            return [SlotSet(FLOW, None), *CLEAR_PROPOSAL]
        return unavailable(dispatcher)

    quote, policy = answer.quote, answer.policy
    if quote.acceptable:
        dispatcher.utter_message(response="utter_plan_offer_intro", case_number=case_number)
        say_quote(dispatcher, quote, language)
        dispatcher.utter_message(response="utter_ask_accept_plan")
        return [SlotSet(FLOW, "plan_offered"), SlotSet("plan_terms", terms_of(quote)), *CLEAR_PROPOSAL]

    if PlanProblem.COVERS_BALANCE in quote.problems:
        dispatcher.utter_message(response="utter_plan_covers_balance", balance=money(case.balance, language))
        return [SlotSet(FLOW, None), *CLEAR_PROPOSAL]
    for problem in quote.problems:
        dispatcher.utter_message(
            response=f"utter_plan_problem_{problem.value}",
            min_installment=money(policy.min_installment, language),
            max_months=policy.max_months,
            first_due_latest=day(policy.first_due_latest, language),
        )
    alternative = quote.alternative
    note = _proposal_note(proposal, quote)
    if alternative is None:
        dispatcher.utter_message(response="utter_plan_no_alternative")
        handed_off = await hand_off(dispatcher, tracker, reason="payment_plan", note=note, case_number=case_number)
        return [SlotSet(FLOW, None), *CLEAR_PROPOSAL, *handed_off]
    dispatcher.utter_message(response="utter_plan_alternative_intro")
    say_quote(dispatcher, alternative, language)
    dispatcher.utter_message(response="utter_ask_accept_alternative")
    return [
        SlotSet(FLOW, "plan_alternative"),
        SlotSet("plan_terms", terms_of(alternative)),
        SlotSet("plan_proposal_note", note),
        *CLEAR_PROPOSAL,
    ]


def _proposal_note(proposal: dict[str, Any], quote: PlanQuote) -> str:
    """For the caseworker: what the debtor proposed and which limits it breaks (no personal data)."""
    asked = ", ".join(f"{key}={value}" for key, value in sorted(proposal.items())) or "no terms given"
    problems = ", ".join(problem.value for problem in quote.problems)
    return f"Debtor's own proposal: {asked}. Outside policy: {problems}. A person assesses it."


class ActionQuotePaymentPlan(Action):
    def name(self) -> str:
        return "action_quote_payment_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await offer_plan(dispatcher, tracker)


# Accepting a plan binds the debtor. A "yes" read with less confidence than this ("jø", "øk": 0.6)
# is asked again with buttons; "ja", "ja takk", "ok" and "ja, det høres bra ut" come at 0.75-0.98,
# a pressed button at 1.0.
MIN_CONFIDENCE_TO_ACCEPT = 0.7


def unsure_yes(tracker: Tracker) -> bool:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") == "affirm" and float(intent.get("confidence", 1.0)) < MIN_CONFIDENCE_TO_ACCEPT


class ActionCreatePaymentPlan(Action):
    def name(self) -> str:
        return "action_create_payment_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if unsure_yes(tracker):
            dispatcher.utter_message(response="utter_ask_accept_plan_clearly")
            return []  # the offer stands: the next yes or no answers it
        case_number = tracker.get_slot("verified_case_number")
        terms = tracker.get_slot("plan_terms")
        language = language_of(tracker)
        done = [SlotSet(FLOW, None), SlotSet("plan_terms", None), SlotSet("plan_proposal_note", None)]
        if not terms or not case_number:
            dispatcher.utter_message(response="utter_anything_else")
            return done
        try:
            plan = await case_system().create_payment_plan(
                case_number, terms, caller=caller_for(tracker, purpose="payment_plan"), language=language
            )
            case = await case_system().get_case(case_number, caller=caller_for(tracker, purpose="payment_plan"))
        except CaseSystemUnavailable:
            return [*unavailable(dispatcher), *done]
        except CaseSystemRejected as rejected:
            # The case changed since the quote (a plan, a dispute): say so and start again.
            dispatcher.utter_message(response="utter_plan_not_possible_now", case_number=case_number)
            return done if rejected.status < 500 else unavailable(dispatcher)
        dispatcher.utter_message(
            response="utter_plan_created",
            case_number=case_number,
            schedule=schedule_text(plan.installments, language),
            account_number=settings().agency_account_number,
            kid=case.kid,
        )
        queued = plan.confirmation in (Confirmation.QUEUED, Confirmation.ALREADY_SENT)
        sms = "utter_plan_sms_queued" if queued else "utter_plan_sms_not_sent"
        dispatcher.utter_message(response=sms)
        return done


class ActionDeclinePaymentPlan(Action):
    """No to an offered plan; no to the nearest alternative hands the debtor's own terms to a person."""

    def name(self) -> str:
        return "action_decline_payment_plan"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        done = [SlotSet(FLOW, None), SlotSet("plan_terms", None), SlotSet("plan_proposal_note", None)]
        if tracker.get_slot(FLOW) == "plan_alternative":
            dispatcher.utter_message(response="utter_plan_own_terms_to_caseworker")
            handed_off = await hand_off(
                dispatcher,
                tracker,
                reason="payment_plan",
                note=tracker.get_slot("plan_proposal_note") or "",
                case_number=tracker.get_slot("verified_case_number"),
            )
            return [*done, *handed_off]
        dispatcher.utter_message(response="utter_plan_not_made")
        return done


# --- postponement --------------------------------------------------------------------------------


async def postpone(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    case_number = tracker.get_slot("verified_case_number")
    language = language_of(tracker)
    wanted = tracker.get_slot("date")
    if not wanted:
        dispatcher.utter_message(response="utter_ask_postponement_date")
        return [SlotSet(FLOW, "postponement_date_needed")]
    try:
        granted = await case_system().create_postponement(
            case_number, str(wanted), caller=caller_for(tracker, purpose="postponement")
        )
    except CaseSystemUnavailable:
        return [*unavailable(dispatcher), SlotSet("date", None)]
    except CaseSystemRejected as rejected:
        events: list[EventType] = [SlotSet(FLOW, None), SlotSet("date", None)]
        if rejected.code in ("postponement_too_long", "postponement_already_postponed"):
            dispatcher.utter_message(
                response=f"utter_{rejected.code}",
                latest_date=day(rejected.details["latest_date"], language),
                max_days=rejected.details.get("max_days", ""),
            )
            events += await hand_off(
                dispatcher,
                tracker,
                reason="postponement",
                note=f"Debtor asked to postpone to {wanted}: {rejected.code}.",
                case_number=case_number,
            )
        elif rejected.code == "case_closed":
            dispatcher.utter_message(response="utter_case_closed", case_number=case_number)
        elif rejected.code == "case_disputed":
            dispatcher.utter_message(response="utter_plan_case_disputed", case_number=case_number)
        elif rejected.code == "active_plan_exists":
            dispatcher.utter_message(response="utter_postponement_plan_exists", case_number=case_number)
        elif rejected.status == 422:
            dispatcher.utter_message(response="utter_postponement_invalid_date")
        else:
            return [*unavailable(dispatcher), SlotSet("date", None)]
        return events
    dispatcher.utter_message(
        response="utter_postponement_granted",
        case_number=case_number,
        new_due_date=day(granted.new_due_date, language),
    )
    return [SlotSet(FLOW, None), SlotSet("date", None)]


class ActionRequestPostponement(Action):
    def name(self) -> str:
        return "action_request_postponement"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await postpone(dispatcher, tracker)


# --- choosing a case -----------------------------------------------------------------------------


def offer_case_choice(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """With several open cases: how many, which one we are looking at, and buttons to switch.

    Button titles are the case numbers only (no words to translate); SMS and voice channels turn
    buttons into numbered or spoken choices themselves.
    """
    cases = list(tracker.get_slot("case_numbers") or [])
    current = tracker.get_slot("verified_case_number")
    if len(cases) < 2:
        return
    dispatcher.utter_message(
        response="utter_choose_case",
        case_count=len(cases),
        case_number=current,
        buttons=[
            {"title": number, "payload": f'/inform{{"case_number":"{number}"}}'}
            for number in cases
            if number != current
        ],
    )


class ActionChooseCase(Action):
    """A verified debtor named a case: switch to it if it is one of theirs."""

    def name(self) -> str:
        return "action_choose_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        chosen = tracker.get_slot("case_number")
        cases = list(tracker.get_slot("case_numbers") or [])
        if chosen and str(chosen) in cases:
            dispatcher.utter_message(response="utter_case_chosen", case_number=str(chosen))
            dispatcher.utter_message(response="utter_verified_what_next")
            return [SlotSet("verified_case_number", str(chosen)), SlotSet("case_number", None)]
        if chosen:
            # Not one of the verified debtor's open cases: no word on whether it exists.
            dispatcher.utter_message(response="utter_case_not_among_yours")
            return [SlotSet("case_number", None)]
        dispatcher.utter_message(response="utter_verified_what_next")
        return []
