"""Legal caps on collection fees for consumer debtors (inkassoforskriften chapters 1 and 2).

Every cap is a multiple of the inkassosats (the base amount set by regulation); the multiples and
the inkassosats, each with its source, live in `data/collection_fees.yml`.

Caps are exact: the fraction or multiple of the inkassosats, cut to whole øre and never rounded
up (1/20 of 750 kroner is 37.50, not 38). A fee above the exact cap is an excess.

Which day's inkassosats applies: for notices (reminder, collection notice, payment demand) the day
the notice is sent (§ 1-2 last paragraph); for the collection fee the regulation uses the day the
main claim is paid (§ 2-2, as quoted in the data file), so a check at charge time passes the
charge date and a check at settlement passes the settlement date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import yaml

from bot.case_system.contract.enums import FeeBreach, LineType
from bot.case_system.domain import DATA_DIR
from bot.case_system.domain.interest import ORE, decimal_from_data

DEFAULT_PATH = DATA_DIR / "collection_fees.yml"


@dataclass(frozen=True)
class InkassosatsRate:
    """The inkassosats in force on a day; provisional when that day is past what was confirmed."""

    amount: Decimal
    source: str
    provisional: bool


@dataclass(frozen=True)
class FeeCheck:
    """Whether a charged fee is within its legal cap."""

    line_type: LineType
    amount: Decimal
    cap: Decimal
    over_cap: bool
    source: str
    provisional: bool = False  # the cap rests on an inkassosats not confirmed for that date
    breaches: tuple[FeeBreach, ...] = ()  # rules beyond the amount the fee breaks (fee_rules.py)


@dataclass(frozen=True)
class _SatsEntry:
    valid_from: date
    amount: Decimal
    confirmed_through: date
    source: str


@dataclass(frozen=True)
class _Bracket:
    up_to: Decimal | None  # inclusive; None = no upper bound
    light: Decimal
    heavy: Decimal


@dataclass(frozen=True)
class _FeeRules:
    inkassosats: tuple[_SatsEntry, ...]
    notice_fractions: dict[str, Fraction]
    notice_source: str
    collection_fee_from: date
    collection_fee_brackets: tuple[_Bracket, ...]
    collection_fee_source: str
    vat_percent: Decimal
    vat_source: str


@lru_cache(maxsize=1)
def _rules() -> _FeeRules:
    with open(DEFAULT_PATH, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    sats = tuple(
        sorted(
            (
                _SatsEntry(
                    valid_from=date.fromisoformat(str(entry["valid_from"])),
                    amount=decimal_from_data(entry["amount"], "inkassosats amount"),
                    confirmed_through=date.fromisoformat(str(entry["confirmed_through"])),
                    source=entry["source"],
                )
                for entry in data["inkassosats"]
            ),
            key=lambda entry: entry.valid_from,
        )
    )
    notices = data["notice_fees"]
    fractions = {
        name: Fraction(int(notices[name]["numerator"]), int(notices[name]["denominator"]))
        for name in ("reminder_fee", "collection_notice_fee", "payment_demand_fee")
    }
    salary = data["collection_fee_consumer"]
    brackets = tuple(
        _Bracket(
            up_to=None if row["up_to"] is None else decimal_from_data(row["up_to"], "up_to"),
            light=decimal_from_data(row["light"], "light multiple"),
            heavy=decimal_from_data(row["heavy"], "heavy multiple"),
        )
        for row in salary["brackets"]
    )
    if brackets[-1].up_to is not None:
        raise ValueError("the last collection-fee bracket must have no upper bound")
    return _FeeRules(
        inkassosats=sats,
        notice_fractions=fractions,
        notice_source=notices["source"],
        collection_fee_from=date.fromisoformat(str(salary["valid_from"])),
        collection_fee_brackets=brackets,
        collection_fee_source=salary["source"],
        vat_percent=decimal_from_data(data["vat_addition"]["percent"], "VAT percent"),
        vat_source=data["vat_addition"]["source"],
    )


def inkassosats_rate(on: date) -> InkassosatsRate:
    """The inkassosats in force on `on`, with its source and whether it is confirmed for `on`."""
    entries = [entry for entry in _rules().inkassosats if entry.valid_from <= on]
    if not entries:
        raise LookupError(f"no inkassosats on record for {on.isoformat()}")
    entry = entries[-1]
    return InkassosatsRate(
        amount=entry.amount,
        source=entry.source,
        provisional=on > entry.confirmed_through,
    )


def inkassosats(on: date) -> Decimal:
    """The inkassosats in force on `on`, in kroner."""
    return inkassosats_rate(on).amount


def exact_cap(amount: Decimal) -> Decimal:
    """A cap in øre: cut, never rounded up, so nothing above the regulation's figure is allowed."""
    return amount.quantize(ORE, rounding=ROUND_DOWN)


def _notice_fee_cap(name: str, on: date) -> Decimal:
    fraction = _rules().notice_fractions[name]
    return exact_cap(inkassosats(on) * fraction.numerator / fraction.denominator)


def reminder_fee_cap(on: date) -> Decimal:
    """Maximum fee for a written reminder (purring) sent on `on`: 1/20 of the inkassosats."""
    return _notice_fee_cap("reminder_fee", on)


def collection_notice_fee_cap(on: date) -> Decimal:
    """Maximum fee for a collection notice (inkassovarsel) sent on `on`: 1/20 of the inkassosats."""
    return _notice_fee_cap("collection_notice_fee", on)


def payment_demand_fee_cap(on: date) -> Decimal:
    """Maximum fee for a payment demand (betalingsoppfordring) the creditor itself sends: 3/20."""
    return _notice_fee_cap("payment_demand_fee", on)


def collection_fee_cap(
    principal: Decimal, on: date, heavy: bool = False, *, creditor_vat_liable: bool = True
) -> Decimal:
    """Maximum collection fee (inkassosalær) for a consumer claim of `principal` kroner.

    `heavy` selects tungt salær (§ 2-3, payment demand deadline overrun); the default is lett
    salær (§ 2-2). When the claim does not (mainly) arise from VAT-liable business, the cap is
    raised by the general VAT rate (`creditor_vat_liable=False`). Only consumer caps are modelled.
    """
    if not isinstance(principal, Decimal):
        raise TypeError("principal must be a Decimal")
    if principal < 0:
        raise ValueError("principal must not be negative")
    rules = _rules()
    if on < rules.collection_fee_from:
        raise LookupError("collection-fee caps before 1 October 2020 are not on record")
    bracket = next(row for row in rules.collection_fee_brackets if row.up_to is None or principal <= row.up_to)
    cap = inkassosats(on) * (bracket.heavy if heavy else bracket.light)
    if not creditor_vat_liable:
        cap = cap * (100 + rules.vat_percent) / 100
    return exact_cap(cap)


def check_fee(
    line_type: LineType,
    amount: Decimal,
    *,
    principal: Decimal,
    charged_on: date,
    heavy: bool = False,
    creditor_vat_liable: bool = True,
) -> FeeCheck:
    """Compare a charged fee with its legal cap on `charged_on`."""
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    rules = _rules()
    sats = inkassosats_rate(charged_on)
    if line_type is LineType.REMINDER_FEE:
        cap, source = reminder_fee_cap(charged_on), rules.notice_source
    elif line_type is LineType.COLLECTION_NOTICE_FEE:
        cap, source = collection_notice_fee_cap(charged_on), rules.notice_source
    elif line_type is LineType.COLLECTION_FEE:
        cap = collection_fee_cap(principal, charged_on, heavy, creditor_vat_liable=creditor_vat_liable)
        source = rules.collection_fee_source
        if not creditor_vat_liable:
            source = f"{source}; {rules.vat_source}"
    else:
        raise ValueError(f"{line_type.value} is not a fee with a legal cap")
    return FeeCheck(
        line_type=line_type,
        amount=amount,
        cap=cap,
        over_cap=amount > cap,
        source=f"{source}; inkassosats: {sats.source}",
        provisional=sats.provisional,
    )
