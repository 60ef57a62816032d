"""VAT rates with their legal basis and the days they are in force. Pure.

Electronic licences for software and databases are exempt under the Tax Code (art. 149 p. 2
pp. 26); everything else (audiobooks, for one) carries the standard rate, 20% until 2025 and
22% from 2026-01-01. A product stores the rate as partners see it ('exempt' or '22'); a price
list may also say 'standard', which means the standard rate on the day of the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

EXEMPT_BASIS = (
    "Без НДС: подп. 26 п. 2 ст. 149 НК РФ (передача исключительных прав и прав использования "
    "программ для ЭВМ и баз данных)"
)
STANDARD_BASIS = "п. 3 ст. 164 НК РФ (основная ставка НДС)"


@dataclass(frozen=True)
class VatRule:
    """``rate`` ('exempt' or a whole percentage) with its basis, in force from..until (incl.)."""

    rate: str
    basis: str
    effective_from: date
    effective_to: date | None = None

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


RULES: tuple[VatRule, ...] = (
    VatRule("exempt", EXEMPT_BASIS, date(2008, 1, 1)),
    VatRule("20", STANDARD_BASIS, date(2019, 1, 1), date(2025, 12, 31)),
    VatRule("22", STANDARD_BASIS + ", с 01.01.2026", date(2026, 1, 1)),
)

STANDARD_WORDS = {"standard", "стандартная", "основная", "общая"}


def rule_for(rate: str, day: date) -> VatRule | None:
    """The rule that makes ``rate`` lawful on ``day``; None when it is not in force then."""
    return next((r for r in RULES if r.rate == rate and r.in_force(day)), None)


def standard_rate(day: date) -> str:
    """The standard rate on ``day``: '20' in 2025, '22' from 2026-01-01."""
    for rule in RULES:
        if rule.rate != "exempt" and rule.in_force(day):
            return rule.rate
    raise LookupError(f"no standard VAT rate in force on {day}")


def resolve(value: str, day: date) -> str:
    """A price list's VAT word as a rate: 'standard' → the standard rate on ``day``."""
    return standard_rate(day) if value.strip().lower() in STANDARD_WORDS else value


def basis(rate: str, day: date) -> str:
    """The legal basis to print next to ``rate`` (empty if the rate is not in force)."""
    rule = rule_for(rate, day)
    return rule.basis if rule else ""


def problem(rate: str, day: date) -> str | None:
    """Why ``rate`` cannot be charged on ``day``, or None when it can."""
    if rule_for(rate, day) is not None:
        return None
    in_force = sorted({r.rate for r in RULES if r.in_force(day)})
    return (
        f"VAT rate {rate!r} is not in force on {day.isoformat()} (in force: {', '.join(in_force)})"
    )
