"""The domain's results as the contract's response models: field by field, no rules.

Money, dates and timestamps are converted by the models' field types (contract/fields.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from bot.case_system.contract import responses as api
from bot.case_system.contract.enums import FEE_TYPES
from bot.case_system.domain import rights_requests
from bot.case_system.domain.case_service import FeeReview
from bot.case_system.domain.claims import ClaimLine
from bot.case_system.domain.fees import FeeCheck
from bot.case_system.domain.payment_plans import PaymentPlanQuote, PlanPolicy
from bot.case_system.domain.statements import CaseFigures
from bot.case_system.store import models


def debtor_summary(debtor: models.Debtor) -> api.DebtorSummary:
    return api.DebtorSummary(first_name=debtor.first_name, language=debtor.language)


def claim_line(line: ClaimLine, check: Optional[FeeCheck]) -> api.ClaimLine:
    fields: dict = {
        "type": line.type,
        "amount": line.amount,
        "description": line.description,
        "from_date": line.from_date,
        "to_date": line.to_date,
        "provisional": bool(line.provisional),
    }
    if line.rate_percent is not None:
        fields["rate_percent"] = line.rate_percent
    if line.type in FEE_TYPES:
        # The legal cap on the day charged; a fee above it is flagged for review, never defended.
        fields["legal_cap"] = None if check is None else check.cap
        fields["over_cap"] = bool(check is not None and check.over_cap)
        fields["rule_breaches"] = [] if check is None else list(check.breaches)
    return api.ClaimLine(**fields)


def payment_plan(plan: models.PaymentPlan) -> api.PaymentPlan:
    return api.PaymentPlan(**_plan_fields(plan))


def _plan_fields(plan: models.PaymentPlan) -> dict:
    return {
        "id": plan.id,
        "status": plan.status,
        "monthly_amount": plan.monthly_amount,
        "fee": plan.fee,
        "created_via": plan.created_via,
        "created_at": plan.created_at,
        "installments": [
            api.Installment(sequence=item.sequence, due_date=item.due_date, amount=item.amount, status=item.status)
            for item in plan.installments
        ],
    }


def created_plan(plan: models.PaymentPlan, *, case_number: str, confirmation) -> api.PlanCreated:
    return api.PlanCreated(**_plan_fields(plan), case_number=case_number, confirmation=confirmation)


def case(figures: CaseFigures) -> api.Case:
    case, statement, pay_by = figures.case, figures.statement, figures.pay_by
    return api.Case(
        case_number=case.case_number,
        status=case.status,
        stage=case.stage,
        creditor=api.Creditor(name=case.creditor.name, org_number=case.creditor.org_number),
        invoice=api.Invoice(
            number=case.invoice_number,
            date=case.invoice_date,
            due_date=case.due_date,
            amount=case.principal,
            description=case.description,
        ),
        kid=case.kid,
        as_of=figures.as_of,
        lines=[claim_line(line, check) for line, check in zip(statement.lines, figures.fee_checks)],
        payments=[api.Payment(paid_on=payment.paid_on, amount=payment.amount) for payment in statement.payments],
        total_claimed=statement.total_claimed,
        total_paid=statement.total_paid,
        balance=statement.balance,
        overpaid=statement.overpaid,
        provisional_interest=bool(statement.provisional_interest),
        disputed=case.disputed,
        collection_stopped=case.collection_stopped,
        fees_over_cap=bool(figures.fees_over_cap),
        fee_review_requested=case.fee_review_requested_at is not None,
        debtor=debtor_summary(case.debtor),
        open_payment_plan=None if figures.open_plan is None else payment_plan(figures.open_plan),
        notice_sent_on=case.notice_sent_on,
        pay_by=api.PayBy(date=pay_by.date, amount=pay_by.amount, basis=pay_by.basis, passed=pay_by.passed),
        notices=[
            api.Notice(kind=notice.kind, sent_on=notice.sent_on, deadline=notice.deadline) for notice in case.notices
        ],
    )


def fee_review(review: FeeReview) -> api.FeeReview:
    return api.FeeReview(
        case_number=review.figures.case.case_number,
        fee_review_requested=True,
        requested_at=review.requested_at,
        fees_over_cap=[
            api.FeeOverCap(
                type=line.type,
                amount=line.amount,
                legal_cap=check.cap,
                from_date=line.from_date,
                rule_breaches=list(check.breaches),
            )
            for line, check in review.figures.fees_over_cap
        ],
    )


def plan_quote(quote: PaymentPlanQuote) -> api.PlanQuote:
    return api.PlanQuote(
        acceptable=quote.acceptable,
        problems=list(quote.problems),
        balance=quote.balance,
        fee=quote.fee,
        total=quote.total,
        monthly_amount=quote.monthly_amount,
        months=quote.months,
        first_due_date=quote.first_due_date,
        installments=[
            api.QuoteInstallment(sequence=item.sequence, due_date=item.due_date, amount=item.amount)
            for item in quote.installments
        ],
        estimated_interest=quote.estimated_interest,
        interest_rate_percent=quote.interest_rate_percent,
        interest_provisional=quote.interest_provisional,
        alternative=None if quote.alternative is None else plan_quote(quote.alternative),
    )


def plan_policy(policy: PlanPolicy, today: date) -> api.PlanPolicySummary:
    return api.PlanPolicySummary(
        min_installment=policy.min_installment,
        max_months=policy.max_months,
        first_due_latest=today + timedelta(days=policy.first_due_within_days),
        plan_fee=policy.plan_fee,
        max_postponement_days=policy.max_postponement_days,
    )


def postponement(postponement: models.Postponement, case_number: str) -> api.Postponement:
    return api.Postponement(
        id=postponement.id,
        case_number=case_number,
        new_due_date=postponement.new_due_date,
        fee=postponement.fee,
        status=postponement.status,
        created_via=postponement.created_via,
        created_at=postponement.created_at,
    )


def dispute(dispute: models.Dispute, case: models.Case) -> api.Dispute:
    return api.Dispute(
        id=dispute.id,
        case_number=case.case_number,
        status=dispute.status,
        reason=dispute.reason,
        created_via=dispute.created_via,
        received_at=dispute.received_at,
        disputed=case.disputed,
        collection_stopped=case.collection_stopped,
    )


def _handoff_fields(handoff: models.Handoff) -> dict:
    return {
        "id": handoff.id,
        "reference": handoff.reference,
        "conversation_id": handoff.conversation_id,
        "channel": handoff.channel,
        "reason": handoff.reason,
        "priority": handoff.priority,
        "status": handoff.status,
        "case_number": handoff.case_number,
        "summary": handoff.summary,
        "transcript": handoff.transcript,
        "created_at": handoff.created_at,
    }


def handoff(handoff: models.Handoff) -> api.Handoff:
    return api.Handoff(**_handoff_fields(handoff))


def created_handoff(handoff: models.Handoff, expected_answer_by: datetime) -> api.HandoffCreated:
    return api.HandoffCreated(**_handoff_fields(handoff), expected_answer_by=expected_answer_by)


def handoff_message(message: models.HandoffMessageRecord) -> api.HandoffMessage:
    return api.HandoffMessage(from_=message.sender, text=message.text, at=message.at)


def handoff_detail(handoff: models.Handoff) -> api.HandoffDetail:
    return api.HandoffDetail(
        **_handoff_fields(handoff),
        taken_by=handoff.taken_by.username if handoff.taken_by is not None else None,
        taken_at=handoff.taken_at,
        resolved_at=handoff.resolved_at,
        returned_at=handoff.returned_at,
        outcome=handoff.outcome,
        note=handoff.note,
        contact_phone=handoff.contact_phone,
        contact_email=handoff.contact_email,
        messages=[handoff_message(message) for message in handoff.messages],
    )


def _rights_fields(item: models.RightsRequest, now: datetime) -> dict:
    return {
        "id": item.reference,
        "type": item.type,
        "received_at": item.received_at,
        "due_at": item.due_at,
        "due_date": rights_requests.due_date(item.received_at, item.extended_months or 0),
        "status": item.status,
        "overdue": rights_requests.is_overdue(item.status, item.due_at, now),
        "channel": item.channel,
        "conversation_id": item.conversation_id,
        "verified": item.verified,
        "verification_method": item.verification_method,
        "case_number": item.case.case_number if item.case is not None else None,
        "handoff_id": item.handoff_id,
        "has_export": bool(item.exports),
        "extended_months": item.extended_months,
        "extension_notice": item.extension_notice,
        "refusal_notice": item.refusal_notice,
    }


def rights_request(item: models.RightsRequest, *, now: datetime) -> api.RightsRequest:
    return api.RightsRequest(**_rights_fields(item, now))


def created_rights_request(item: models.RightsRequest, effects: dict, *, now: datetime) -> api.RightsRequestCreated:
    return api.RightsRequestCreated(**_rights_fields(item, now), effects=api.RightsEffects(**effects))


def rights_request_detail(item: models.RightsRequest, *, now: datetime) -> api.RightsRequestDetail:
    return api.RightsRequestDetail(
        **_rights_fields(item, now),
        extension_reason=item.extension_reason,
        refusal_reason=item.refusal_reason,
        request_text=item.request_text,
        rectification_wrong=item.rectification_wrong,
        rectification_right=item.rectification_right,
        exports=[export_summary(export) for export in item.exports],
    )


def export_summary(export: models.DataExport) -> api.ExportSummary:
    return api.ExportSummary(id=export.id, created_at=export.created_at)
