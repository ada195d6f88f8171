"""What a caseworker can do in a conversation besides writing: the assistant's own quick actions,
through the same case-system functions (payment details from the case's figures, a dispute
through `disputes.record_dispute`)."""

from __future__ import annotations

from bot.case_system.domain import message_templates
from bot.case_system.domain.payment_plans import format_day, format_money
from bot.case_system.domain.statements import CaseFigures
from bot.config import Settings


def payment_details_message(figures: CaseFigures, settings: Settings, language: str) -> str:
    """How to pay the case: the amount due (and by when), account, KID, IBAN and BIC."""
    language = "en" if language == "en" else "nb"
    pay_by = figures.pay_by
    by = ""
    if pay_by.date is not None:
        by = (" innen " if language == "nb" else " by ") + format_day(pay_by.date, language)
    return message_templates.render(
        "payment_details",
        language,
        case_number=figures.case.case_number,
        creditor=figures.case.creditor.name,
        amount=format_money(pay_by.amount, language),
        pay_by=by,
        account_number=settings.agency_account_number,
        kid=figures.case.kid,
        iban=settings.agency_iban,
        bic=settings.agency_bic,
    )
