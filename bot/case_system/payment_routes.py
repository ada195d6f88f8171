"""API handlers for paying and objecting: plan quotes and plans, postponements, disputes, and
fee reviews. Rules live in payment_plans.py, postponements.py, disputes.py and fees.py; these
handlers validate input, apply one rule, write, audit, and serialise.

Nothing is written when a request is refused: every refusal raises before the first `add`, and
the request's session rolls back whatever was not committed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping, Optional

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import money
from bot.case_system import audit, db, errors, outbox, payment_plans, serializers, sms
from bot.case_system.api import (
    API_PREFIX,
    CASE_SYSTEM,
    LOGGED_CASE_NUMBER_KEY,
    CaseSystem,
    json_response,
    oslo_date,
    read_json_object,
)
from bot.case_system.claims import FEE_TYPES, Payment
from bot.case_system.disputes import MAX_REASON_CHARS, clean_reason
from bot.case_system.models import (
    Case,
    CaseStatus,
    Channel,
    Dispute,
    DisputeStatus,
    Installment,
    InstallmentStatus,
    PaymentPlan,
    PaymentPlanStatus,
    Postponement,
    PostponementStatus,
)
from bot.case_system.payment_plans import InvalidProposal, PaymentPlanQuote, PlanPolicy, PlanProposal
from bot.case_system.postponements import decide_postponement

CONFIRMATION_PURPOSE = "payment_plan_confirmation"
AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # a minus is let through to be told "more than zero"


class Conflict(errors.ApiError):
    """409: the request is well formed but the case's state does not allow it."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(409, code, message)
        self.details = details

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"].update(self.details)
        return body


# --- input ---------------------------------------------------------------------------------------


def _amount(body: Mapping[str, Any], name: str) -> Optional[Decimal]:
    value = body.get(name)
    if value is None:
        return None
    # JSON numbers with a fraction arrive as floats: money must come as a string (or whole kroner).
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise errors.invalid_field(name, 'an amount as a string such as "500.00", or whole kroner')
    text = str(value).strip()
    # Plain decimal notation only: `Decimal` would also take exponents ("1e30"), NaN, underscores
    # and non-ASCII digits, none of which is an amount a debtor typed.
    if not AMOUNT.fullmatch(text):
        raise errors.validation_error(name, "must be an amount such as 500.00")
    try:
        return payment_plans.check_amount(Decimal(text), name)
    except InvalidProposal as invalid:
        raise errors.validation_error(invalid.field, invalid.problem) from None
    except ArithmeticError:  # decimal.InvalidOperation and its kin
        # Whatever the size of the number, the answer is a 422 naming the field, never a 500.
        raise errors.validation_error(name, "must be an amount such as 500.00") from None


def _whole_number(body: Mapping[str, Any], name: str) -> Optional[int]:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_field(name, "a whole number")
    return value


def _iso_date(body: Mapping[str, Any], name: str, *, required: bool = False) -> Optional[date]:
    value = serializers._string(body, name, required=required)
    if value is None:
        return None
    try:
        if not serializers.ISO_DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise errors.validation_error(name, "must be a date in the form YYYY-MM-DD") from None


def _proposal(body: Mapping[str, Any], today: date) -> PlanProposal:
    proposal = PlanProposal(
        monthly_amount=_amount(body, "monthly_amount"),
        months=_whole_number(body, "months"),
        first_due_date=_iso_date(body, "first_due_date"),
    )
    try:
        return payment_plans.check_proposal(proposal, today=today)
    except InvalidProposal as invalid:
        raise errors.validation_error(invalid.field, invalid.problem) from None


def _debtor_channel(body: Mapping[str, Any]) -> tuple[Channel, str]:
    channel = Channel(serializers._choice(body, "channel", [channel.value for channel in serializers.DEBTOR_CHANNELS]))
    return channel, serializers._conversation_id(body)


def _case_number(request: web.Request) -> str:
    case_number = request.match_info["case_number"]
    if not serializers.CASE_NUMBER.fullmatch(case_number):
        raise errors.case_not_found()
    request[LOGGED_CASE_NUMBER_KEY] = case_number
    return case_number


# --- shared steps --------------------------------------------------------------------------------


def _system(request: web.Request) -> CaseSystem:
    return request.app[CASE_SYSTEM]


def _session(request: web.Request) -> AsyncSession:
    from bot.case_system.api import SESSION_KEY

    return request[SESSION_KEY]


async def _load_case(session: AsyncSession, case_number: str) -> Case:
    case = await db.load_case(session, case_number)
    if case is None:
        raise errors.case_not_found()
    return case


def _require_collectable(case: Case) -> None:
    """Plans and postponements only for an open case that is not disputed."""
    if case.status is CaseStatus.CLOSED:
        raise Conflict("case_closed", "The case is closed; there is nothing to pay.")
    if case.disputed or case.collection_stopped:
        raise Conflict("case_disputed", "The claim is disputed and collection is stopped; a caseworker handles it.")


def policy_of(system: CaseSystem, case: Case) -> PlanPolicy:
    settings = system.settings
    defaults = payment_plans.default_policy(
        min_installment_kr=settings.plan_min_installment_kr,
        max_months=settings.plan_max_months,
        first_due_within_days=settings.plan_first_due_within_days,
        plan_fee_kr=settings.plan_fee_kr,
        max_postponement_days=settings.postponement_max_days,
    )
    return payment_plans.policy_for(case.creditor.org_number, defaults)


def _quote(system: CaseSystem, case: Case, proposal: PlanProposal, today: date) -> PaymentPlanQuote:
    statement = serializers.case_statement(case, as_of=today, rates=system.rates)
    claim = payment_plans.ClaimFacts(
        principal=case.principal,
        due_date=case.due_date,
        fees=tuple(line for line in statement.lines if line.type in FEE_TYPES),
        payments=tuple(Payment(paid_on=p.paid_on, amount=p.amount) for p in case.payments),
    )
    try:
        return payment_plans.quote_plan(
            claim=claim,
            balance=statement.balance,
            proposal=proposal,
            policy=policy_of(system, case),
            today=today,
            rates=system.rates,
        )
    except InvalidProposal as invalid:
        if invalid.field == "case":
            raise Conflict("nothing_to_pay", "The case has no balance left to pay.") from None
        raise errors.validation_error(invalid.field, invalid.problem) from None


def quote_json(quote: PaymentPlanQuote) -> dict[str, Any]:
    return {
        "acceptable": quote.acceptable,
        "problems": list(quote.problems),
        "balance": money(quote.balance),
        "fee": money(quote.fee),
        "total": money(quote.total),
        "monthly_amount": money(quote.monthly_amount),
        "months": quote.months,
        "first_due_date": quote.first_due_date.isoformat(),
        "installments": [
            {"sequence": item.sequence, "due_date": item.due_date.isoformat(), "amount": money(item.amount)}
            for item in quote.installments
        ],
        "estimated_interest": money(quote.estimated_interest),
        "interest_rate_percent": None if quote.interest_rate_percent is None else f"{quote.interest_rate_percent:.2f}",
        "interest_provisional": quote.interest_provisional,
        "alternative": None if quote.alternative is None else quote_json(quote.alternative),
    }


def _policy_json(policy: PlanPolicy, today: date) -> dict[str, Any]:
    return {
        "min_installment": money(policy.min_installment),
        "max_months": policy.max_months,
        "first_due_latest": (today + timedelta(days=policy.first_due_within_days)).isoformat(),
        "plan_fee": money(policy.plan_fee),
        "max_postponement_days": policy.max_postponement_days,
    }


def _audit(request: web.Request, *, action: str, subject: str, outcome: str, channel=None, conversation_id=None, detail=None):
    audit.record(
        _session(request),
        audit.context_from_headers(request.headers),
        at=_system(request).clock(),
        action=action,
        subject_type="case",
        subject_id=subject,
        outcome=outcome,
        channel=channel,
        conversation_id=conversation_id,
        detail=detail,
    )


# --- payment plans -------------------------------------------------------------------------------


async def quote_payment_plan(request: web.Request) -> web.Response:
    system = _system(request)
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)  # a malformed header is refused before anything else
    body = await read_json_object(request)
    today = oslo_date(system.clock())
    proposal = _proposal(body, today)
    session = _session(request)
    case = await _load_case(session, case_number)
    _require_collectable(case)
    active = serializers.active_plan(case)
    if active is not None:
        raise Conflict("active_plan_exists", "The case already has an active payment plan.", plan_id=active.id)
    quote = _quote(system, case, proposal, today)
    _audit(request, action="payment_plan.quote", subject=case_number, outcome="acceptable" if quote.acceptable else "outside_policy")
    await session.commit()
    return json_response({"case_number": case_number, "quote": quote_json(quote), "policy": _policy_json(policy_of(system, case), today)})


async def create_payment_plan(request: web.Request) -> web.Response:
    system = _system(request)
    settings = system.settings
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)
    body = await read_json_object(request)
    now = system.clock()
    today = oslo_date(now)
    proposal = _proposal(body, today)
    channel, conversation_id = _debtor_channel(body)
    if body.get("accepted") is not True:
        raise errors.validation_error("accepted", "must be true: a plan is only made on the debtor's explicit acceptance")
    language = serializers._choice(body, "language", ["nb", "en"], default="") or None
    session = _session(request)
    case = await _load_case(session, case_number)
    key = payment_plans.idempotency_key(
        "plan", conversation_id, case_number, proposal.monthly_amount, proposal.months, proposal.first_due_date
    )
    existing = (await session.execute(sa.select(PaymentPlan).where(PaymentPlan.idempotency_key == key))).scalar_one_or_none()
    if existing is not None and existing.case_id == case.id:
        # The same acceptance again (a retry, a double click): the plan made the first time.
        return json_response({**serializers.payment_plan_json(existing), "case_number": case_number, "confirmation": "already_sent"})
    _require_collectable(case)
    active = serializers.active_plan(case)
    if active is not None:
        raise Conflict("active_plan_exists", "The case already has an active payment plan.", plan_id=active.id)
    quote = _quote(system, case, proposal, today)
    if not quote.acceptable:
        raise errors.ApiError(
            422, "outside_policy", "The proposal is outside the creditor's plan policy: " + ", ".join(quote.problems) + "."
        )

    plan = PaymentPlan(
        case_id=case.id,
        status=PaymentPlanStatus.ACTIVE,
        monthly_amount=quote.monthly_amount,
        fee=quote.fee,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=key,
        created_at=now,
        installments=[
            Installment(sequence=item.sequence, due_date=item.due_date, amount=item.amount, status=InstallmentStatus.DUE)
            for item in quote.installments
        ],
    )
    session.add(plan)
    confirmation = "no_phone"
    phone = case.debtor.phone
    if phone:
        opted_out = await sms.is_opted_out(session, phone)
        text = payment_plans.confirmation_sms(
            language=language or case.debtor.language.value,
            case_number=case_number,
            creditor=case.creditor.name,
            installments=[(item.due_date, item.amount) for item in quote.installments],
            account_number=settings.agency_account_number,
            kid=case.kid,
            agency_phone=settings.agency_phone,
        )
        outbox.enqueue_sms(session, to_phone=phone, body=text, purpose=CONFIRMATION_PURPOSE, now=now, suppressed=opted_out)
        confirmation = "suppressed" if opted_out else "queued"
    _audit(
        request,
        action="payment_plan.create",
        subject=case_number,
        outcome="created",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent identical request won (idempotency key or one-active-plan index).
        await session.rollback()
        raise Conflict("active_plan_exists", "The case already has an active payment plan.") from None
    return json_response(
        {**serializers.payment_plan_json(plan), "case_number": case_number, "confirmation": confirmation}, status=201
    )


async def list_payment_plans(request: web.Request) -> web.Response:
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)
    session = _session(request)
    case = await _load_case(session, case_number)
    _audit(request, action="payment_plan.list", subject=case_number, outcome="ok")
    await session.commit()
    return json_response(
        {"case_number": case_number, "payment_plans": [serializers.payment_plan_json(plan) for plan in case.payment_plans]}
    )


# --- postponements -------------------------------------------------------------------------------


def postponement_json(postponement: Postponement, case_number: str) -> dict[str, Any]:
    return {
        "id": postponement.id,
        "case_number": case_number,
        "new_due_date": postponement.new_due_date.isoformat(),
        "fee": money(postponement.fee),
        "status": postponement.status.value,
        "created_via": postponement.created_via.value,
        "created_at": serializers.timestamp(postponement.created_at),
    }


async def create_postponement(request: web.Request) -> web.Response:
    system = _system(request)
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)
    body = await read_json_object(request)
    requested = _iso_date(body, "new_due_date", required=True)
    channel, conversation_id = _debtor_channel(body)
    now = system.clock()
    today = oslo_date(now)
    session = _session(request)
    case = await _load_case(session, case_number)
    key = payment_plans.idempotency_key("postponement", conversation_id, case_number, requested)
    granted = list(
        (
            await session.execute(
                sa.select(Postponement).where(
                    Postponement.case_id == case.id, Postponement.status == PostponementStatus.GRANTED
                )
            )
        ).scalars()
    )
    repeat = next((item for item in granted if item.idempotency_key == key), None)
    if repeat is not None:
        return json_response(postponement_json(repeat, case_number))
    _require_collectable(case)
    if serializers.active_plan(case) is not None:
        raise Conflict("active_plan_exists", "The case has an active payment plan; its dates apply.")
    policy = policy_of(system, case)
    try:
        decision = decide_postponement(
            requested, today=today, max_days=policy.max_postponement_days, already_postponed=bool(granted)
        )
    except InvalidProposal as invalid:
        raise errors.validation_error(invalid.field, invalid.problem) from None
    if not decision.granted:
        message = {
            "already_postponed": "The case has already been postponed once; a caseworker can consider more.",
            "too_long": "The date is later than the assistant can grant; a caseworker can consider it.",
        }[decision.reason]
        raise Conflict(
            f"postponement_{decision.reason}",
            message,
            latest_date=decision.latest_date.isoformat(),
            max_days=policy.max_postponement_days,
        )
    postponement = Postponement(
        case_id=case.id,
        new_due_date=decision.new_due_date,
        fee=Decimal("0.00"),
        status=PostponementStatus.GRANTED,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=key,
        created_at=now,
    )
    session.add(postponement)
    _audit(request, action="postponement.create", subject=case_number, outcome="granted", channel=channel.value, conversation_id=conversation_id)
    await session.commit()
    return json_response(postponement_json(postponement, case_number), status=201)


# --- disputes ------------------------------------------------------------------------------------


def dispute_json(dispute: Dispute, case: Case) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "case_number": case.case_number,
        "status": dispute.status.value,
        "reason": dispute.reason,
        "created_via": dispute.created_via.value,
        "received_at": serializers.timestamp(dispute.received_at),
        "disputed": case.disputed,
        "collection_stopped": case.collection_stopped,
    }


async def create_dispute(request: web.Request) -> web.Response:
    system = _system(request)
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)
    body = await read_json_object(request)
    channel, conversation_id = _debtor_channel(body)
    reason = serializers._string(body, "reason", required=False) or ""
    if len(reason) > MAX_REASON_CHARS:
        raise errors.validation_error("reason", f"must be at most {MAX_REASON_CHARS} characters")
    session = _session(request)
    case = await _load_case(session, case_number)
    if case.status is CaseStatus.CLOSED:
        raise Conflict("case_closed", "The case is closed; a caseworker can look at it.")
    now = system.clock()
    open_dispute = (
        await session.execute(
            sa.select(Dispute).where(Dispute.case_id == case.id, Dispute.status == DisputeStatus.OPEN).limit(1)
        )
    ).scalar_one_or_none()
    if open_dispute is not None:
        # One open objection per case: a second one is the same matter, already with a caseworker.
        return json_response(dispute_json(open_dispute, case))
    dispute = Dispute(
        case_id=case.id,
        reason=clean_reason(reason),
        status=DisputeStatus.OPEN,
        created_via=channel,
        conversation_id=conversation_id,
        idempotency_key=payment_plans.idempotency_key("dispute", conversation_id, case_number),
        received_at=now,
    )
    case.disputed = True
    case.collection_stopped = True
    session.add(dispute)
    _audit(request, action="dispute.create", subject=case_number, outcome="recorded", channel=channel.value, conversation_id=conversation_id)
    await session.commit()
    return json_response(dispute_json(dispute, case), status=201)


# --- fee reviews ---------------------------------------------------------------------------------


async def create_fee_review(request: web.Request) -> web.Response:
    system = _system(request)
    case_number = _case_number(request)
    audit.context_from_headers(request.headers)
    body = await read_json_object(request)
    channel, conversation_id = _debtor_channel(body)
    session = _session(request)
    case = await _load_case(session, case_number)
    now = system.clock()
    as_of = serializers.statement_date(case, oslo_date(now))
    case_body = serializers.case_json(
        case, serializers.case_statement(case, as_of=as_of, rates=system.rates), as_of=as_of, rates=system.rates
    )
    over = [line for line in case_body["lines"] if line.get("over_cap")]
    if not over:
        raise Conflict("no_fee_over_cap", "No fee on the case is above its legal cap.")
    created = case.fee_review_requested_at is None
    if created:
        case.fee_review_requested_at = now
    _audit(
        request,
        action="fee_review.create",
        subject=case_number,
        outcome="flagged" if created else "already_flagged",
        channel=channel.value,
        conversation_id=conversation_id,
    )
    await session.commit()
    return json_response(
        {
            "case_number": case_number,
            "fee_review_requested": True,
            "requested_at": serializers.timestamp(case.fee_review_requested_at),
            "fees_over_cap": [
                {"type": line["type"], "amount": line["amount"], "legal_cap": line["legal_cap"], "from_date": line["from_date"]}
                for line in over
            ],
        },
        status=201 if created else 200,
    )


CASE = f"{API_PREFIX}/cases/{{case_number}}"

ROUTES = [
    web.post(f"{CASE}/payment-plans/quote", quote_payment_plan, name="payment_plan_quote"),
    web.post(f"{CASE}/payment-plans", create_payment_plan, name="payment_plans"),
    web.get(f"{CASE}/payment-plans", list_payment_plans, name="payment_plans"),
    web.post(f"{CASE}/postponements", create_postponement, name="postponements"),
    web.post(f"{CASE}/disputes", create_dispute, name="disputes"),
    web.post(f"{CASE}/fee-reviews", create_fee_review, name="fee_reviews"),
]
