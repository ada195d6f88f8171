"""Demo data (ARCHITECTURE.md, "Demo data (contract)"): five fictional debtors, six cases.

Identity numbers are synthetic (month + 80), so they can never belong to real people; they are
only accepted in demo mode. The creditors are invented, with organisation numbers that pass the
mod-11 check. Fees are charged at exactly the legal cap on the day charged, computed with
`fees`, and the paid-in-full case is paid exactly what `claims` says was owed on the payment day.

Every letter is on record with the deadline printed in it (table `notices`): each reminder fee is
charged with a reminder sent at least 14 days after the due date, moved to the next bank day when
it falls on a weekend (four of the six cases do); a collection fee only after a collection notice
ran out unpaid; the heavy collection fee only after a payment demand ran out unpaid.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_system.contract.enums import CaseStage, CaseStatus, Language, LineType, NoticeKind
from bot.case_system.domain import fees
from bot.case_system.domain.claims import ClaimLine, Payment, claim_statement
from bot.case_system.domain.interest import RateTable, load_default_rate_table
from bot.case_system.store import queries
from bot.case_system.store.models import Case, ClaimLineRecord, Creditor, Debtor, Notice, PaymentRecord
from bot.config import Settings
from bot.identifiers import kid_with_check_digit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoDebtor:
    national_id: str
    first_name: str
    last_name: str
    birth_date: date
    phone: str
    language: Language


@dataclass(frozen=True)
class DemoFee:
    type: LineType
    charged_on: date
    heavy: bool = False  # collection fee: tungt salær instead of lett salær


@dataclass(frozen=True)
class DemoNotice:
    kind: NoticeKind
    sent_on: date
    deadline: date  # as printed in the letter


@dataclass(frozen=True)
class DemoCase:
    case_number: str
    debtor: str  # national id
    creditor: str  # org number
    description: str
    invoice_number: str
    invoice_date: date
    due_date: date
    principal: Decimal
    stage: CaseStage
    fees: tuple[DemoFee, ...] = ()
    payments: tuple[tuple[date, Decimal], ...] = ()
    paid_in_full_on: Optional[date] = None  # closed, after one payment of the whole claim
    notices: tuple[DemoNotice, ...] = ()


CREDITORS = {
    "927183455": "Nordlys Strøm AS",
    "930451266": "Bykassen Treningssenter AS",
    "916874022": "Vestland Tannklinikk AS",
    "922531706": "Polarnett Bredbånd AS",
}

DEBTORS = (
    DemoDebtor("14838540024", "Kari", "Nordmann", date(1985, 3, 14), "+4791234567", Language.NB),
    DemoDebtor("02919230056", "Ola", "Nordmann", date(1992, 11, 2), "+4798765432", Language.NB),
    DemoDebtor("27867820081", "Emma", "Hansen", date(1978, 6, 27), "+4745512345", Language.EN),
    DemoDebtor("09810155180", "Lars", "Berg", date(2001, 1, 9), "+4740011223", Language.NB),
    DemoDebtor("30896410004", "Ingrid", "Dahl", date(1964, 9, 30), "+4793344556", Language.NB),
)

REMINDER = LineType.REMINDER_FEE  # purregebyr
COLLECTION = LineType.COLLECTION_FEE  # inkassosalær
PURRING = NoticeKind.REMINDER
INKASSOVARSEL = NoticeKind.COLLECTION_NOTICE
BETALINGSOPPFORDRING = NoticeKind.PAYMENT_DEMAND
# The letter whose sending day is the case's `notice_sent_on` (open cases at a letter stage).
STAGE_LETTER = {CaseStage.INKASSOVARSEL: INKASSOVARSEL, CaseStage.BETALINGSOPPFORDRING: BETALINGSOPPFORDRING}

CASES = (
    DemoCase(
        case_number="100001",
        debtor="14838540024",
        creditor="927183455",
        description="Strøm juli 2026",
        invoice_number="NS-2026-071584",
        invoice_date=date(2026, 7, 16),
        due_date=date(2026, 8, 15),
        principal=Decimal("2450.00"),
        stage=CaseStage.BETALINGSOPPFORDRING,
        # Due on a Saturday, so in time on Monday 17 August; the reminder 14 days after that.
        fees=(DemoFee(REMINDER, date(2026, 8, 31)), DemoFee(COLLECTION, date(2026, 10, 5))),
        notices=(
            DemoNotice(PURRING, date(2026, 8, 31), date(2026, 9, 14)),
            DemoNotice(INKASSOVARSEL, date(2026, 9, 15), date(2026, 9, 29)),
            DemoNotice(BETALINGSOPPFORDRING, date(2026, 10, 7), date(2026, 10, 21)),  # has passed
        ),
    ),
    DemoCase(
        case_number="100002",
        debtor="02919230056",
        creditor="930451266",
        description="Treningsavgift september 2026",
        invoice_number="BT-2026-18822",
        invoice_date=date(2026, 9, 1),
        due_date=date(2026, 9, 15),
        principal=Decimal("1199.00"),
        stage=CaseStage.INKASSOVARSEL,
        fees=(DemoFee(REMINDER, date(2026, 9, 29)),),
        notices=(
            DemoNotice(PURRING, date(2026, 9, 29), date(2026, 10, 13)),
            DemoNotice(INKASSOVARSEL, date(2026, 11, 13), date(2026, 11, 27)),
        ),
    ),
    DemoCase(
        case_number="100003",
        debtor="02919230056",
        creditor="916874022",
        description="Tannbehandling mai 2026",
        invoice_number="VT-26-0412",
        invoice_date=date(2026, 5, 20),
        due_date=date(2026, 6, 19),
        principal=Decimal("6800.00"),
        stage=CaseStage.BETALINGSOPPFORDRING,
        fees=(DemoFee(REMINDER, date(2026, 7, 3)), DemoFee(COLLECTION, date(2026, 8, 10))),
        payments=((date(2026, 9, 1), Decimal("1000.00")),),
        notices=(
            DemoNotice(PURRING, date(2026, 7, 3), date(2026, 7, 17)),
            DemoNotice(INKASSOVARSEL, date(2026, 7, 20), date(2026, 8, 3)),
            DemoNotice(BETALINGSOPPFORDRING, date(2026, 8, 12), date(2026, 8, 26)),  # paid in part after it
        ),
    ),
    DemoCase(
        case_number="100004",
        debtor="27867820081",
        creditor="922531706",
        description="Bredbånd august-oktober 2026",
        invoice_number="PN-2026-553019",
        invoice_date=date(2026, 9, 10),
        due_date=date(2026, 10, 10),
        principal=Decimal("3100.00"),
        stage=CaseStage.INKASSOVARSEL,
        # Due on a Saturday, so in time on Monday 12 October; the reminder 14 days after that.
        fees=(DemoFee(REMINDER, date(2026, 10, 26)),),
        notices=(
            DemoNotice(PURRING, date(2026, 10, 26), date(2026, 11, 9)),
            DemoNotice(INKASSOVARSEL, date(2026, 11, 16), date(2026, 11, 30)),
        ),
    ),
    DemoCase(
        case_number="100005",
        debtor="09810155180",
        creditor="927183455",
        description="Strøm desember 2025-januar 2026",
        invoice_number="NS-2026-010377",
        invoice_date=date(2026, 1, 15),
        due_date=date(2026, 2, 14),
        principal=Decimal("14500.00"),
        stage=CaseStage.LEGAL_COLLECTION,
        # Due on a Saturday (in time on Monday 16 February). The payment demand's deadline ran out
        # unpaid, so the heavy rate (tungt salær) applies.
        fees=(DemoFee(REMINDER, date(2026, 3, 2)), DemoFee(COLLECTION, date(2026, 4, 22), heavy=True)),
        notices=(
            DemoNotice(PURRING, date(2026, 3, 2), date(2026, 3, 16)),
            DemoNotice(INKASSOVARSEL, date(2026, 3, 17), date(2026, 3, 31)),
            DemoNotice(BETALINGSOPPFORDRING, date(2026, 4, 7), date(2026, 4, 21)),
        ),
    ),
    DemoCase(
        case_number="100006",
        debtor="30896410004",
        creditor="930451266",
        description="Treningsavgift februar 2026",
        invoice_number="BT-2026-10231",
        invoice_date=date(2026, 2, 1),
        due_date=date(2026, 2, 15),
        principal=Decimal("799.00"),
        stage=CaseStage.INKASSOVARSEL,
        # Due on a Sunday (in time on Monday 16 February); paid within the collection notice's deadline.
        fees=(DemoFee(REMINDER, date(2026, 3, 2)),),
        paid_in_full_on=date(2026, 3, 20),
        notices=(
            DemoNotice(PURRING, date(2026, 3, 2), date(2026, 3, 16)),
            DemoNotice(INKASSOVARSEL, date(2026, 3, 17), date(2026, 3, 31)),
        ),
    ),
)

FEE_DESCRIPTIONS = {
    (LineType.REMINDER_FEE, False): "Purregebyr",
    (LineType.COLLECTION_NOTICE_FEE, False): "Gebyr for inkassovarsel",
    (LineType.COLLECTION_FEE, False): "Inkassosalær, lett sats",
    (LineType.COLLECTION_FEE, True): "Inkassosalær, tung sats",
}


def fee_amount(fee: DemoFee, principal: Decimal) -> Decimal:
    """The legal cap for `fee` on the day it was charged."""
    if fee.type is LineType.REMINDER_FEE:
        return fees.reminder_fee_cap(fee.charged_on)
    if fee.type is LineType.COLLECTION_NOTICE_FEE:
        return fees.collection_notice_fee_cap(fee.charged_on)
    return fees.collection_fee_cap(principal, fee.charged_on, heavy=fee.heavy)


def demo_kid(case_number: str) -> str:
    return kid_with_check_digit(case_number.zfill(10))


def _fee_lines(spec: DemoCase) -> list[ClaimLine]:
    return [
        ClaimLine(
            type=fee.type,
            amount=fee_amount(fee, spec.principal),
            description=FEE_DESCRIPTIONS[(fee.type, fee.heavy)],
            from_date=fee.charged_on,
        )
        for fee in spec.fees
    ]


def _payments(spec: DemoCase, rates: RateTable) -> list[tuple[date, Decimal]]:
    if spec.paid_in_full_on is None:
        return list(spec.payments)
    owed = claim_statement(
        principal=spec.principal,
        due_date=spec.due_date,
        fees=_fee_lines(spec),
        payments=[Payment(paid_on, amount) for paid_on, amount in spec.payments],
        as_of=spec.paid_in_full_on,
        rates=rates,
        principal_description=spec.description,
    )
    return [*spec.payments, (spec.paid_in_full_on, owed.balance)]


def _stage_letter_sent_on(spec: DemoCase) -> Optional[date]:
    kind = STAGE_LETTER.get(spec.stage)
    return max((notice.sent_on for notice in spec.notices if notice.kind is kind), default=None)


def build_demo_records(rates: RateTable) -> list[object]:
    """The demo creditors, debtors and cases as unsaved ORM objects."""
    creditors = {org: Creditor(name=name, org_number=org) for org, name in CREDITORS.items()}
    debtors = {
        spec.national_id: Debtor(
            national_id=spec.national_id,
            first_name=spec.first_name,
            last_name=spec.last_name,
            birth_date=spec.birth_date,
            phone=spec.phone,
            language=spec.language,
            marketing_objection=False,
        )
        for spec in DEBTORS
    }
    cases = []
    for spec in CASES:
        closed = spec.paid_in_full_on is not None
        case = Case(
            case_number=spec.case_number,
            debtor=debtors[spec.debtor],
            creditor=creditors[spec.creditor],
            description=spec.description,
            invoice_number=spec.invoice_number,
            invoice_date=spec.invoice_date,
            due_date=spec.due_date,
            principal=spec.principal,
            stage=spec.stage,
            status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
            kid=demo_kid(spec.case_number),
            disputed=False,
            collection_stopped=False,
            closed_on=spec.paid_in_full_on,
            notice_sent_on=None if closed else _stage_letter_sent_on(spec),
        )
        case.notices = [
            Notice(kind=notice.kind, sent_on=notice.sent_on, deadline=notice.deadline) for notice in spec.notices
        ]
        case.claim_lines = [
            ClaimLineRecord(
                type=line.type.value, amount=line.amount, description=line.description, charged_on=line.from_date
            )
            for line in _fee_lines(spec)
        ]
        case.payments = [
            PaymentRecord(paid_on=paid_on, amount=amount, reference=case.kid)
            for paid_on, amount in _payments(spec, rates)
        ]
        cases.append(case)
    return [*creditors.values(), *debtors.values(), *cases]


async def load_demo_data(session: AsyncSession, settings: Settings) -> bool:
    """Insert the demo data into an empty database and commit; whether anything was inserted.

    Does nothing outside demo mode (synthetic identity numbers are only valid there) or when the
    database already holds creditors, debtors or cases.
    """
    if not settings.demo_mode:
        log.info("demo data not loaded: demo mode is off")
        return False
    if not await queries.is_empty(session):
        log.info("demo data not loaded: the case database is not empty")
        return False
    rates = await asyncio.get_running_loop().run_in_executor(None, load_default_rate_table)
    session.add_all(build_demo_records(rates))
    await session.commit()
    log.info("demo data loaded: %d debtors, %d cases", len(DEBTORS), len(CASES))
    return True
