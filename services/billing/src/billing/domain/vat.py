"""VAT of document lines. Pure rules: Decimal only.

Prices in esd include VAT. A taxable line (audiobooks) carries the VAT contained in its amount,
``amount × rate / (100 + rate)``, rounded half-up per line to the kopeck; the document's VAT is the
sum of its lines' VAT, never a VAT recomputed from the total (that is how the invoice's columns
8 and 9 add up). Licences for software and databases are exempt under the Tax Code, art. 149
п. 2 пп. 26: such a line says "Без НДС" with that basis and carries no VAT.

The standard rate is the one in force on the document's date: 20 % until 31.12.2025, 22 % from
01.01.2026. A line priced at a standard rate is taxed at the
standard rate of its document date; reduced rates (10, 0, the simplified-system 5 and 7) are
taken as given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")
EXEMPT = "exempt"

EXEMPT_LABEL = "Без НДС"
EXEMPT_BASIS = "НК РФ ст. 149 п. 2 пп. 26"
"""Transfer of exclusive or licence rights to software and databases is not subject to VAT."""

STANDARD_RATES: tuple[tuple[date, int], ...] = (
    (date(2019, 1, 1), 20),
    (date(2026, 1, 1), 22),
)
"""Standard VAT rate by the date it came into force (newest last)."""

_STANDARD = {str(rate) for _, rate in STANDARD_RATES}


class UnknownVatRate(ValueError):
    """A rate that is neither 'exempt' nor a percentage this service knows."""


def standard_rate(on: date) -> int:
    """The standard rate in force on ``on``."""
    rate = STANDARD_RATES[0][1]
    for since, candidate in STANDARD_RATES:
        if since <= on:
            rate = candidate
    return rate


def rate_in_force(rate: str, on: date) -> str:
    """The rate a line priced at ``rate`` is taxed at on its document date ``on``."""
    rate = normalise(rate)
    if rate in _STANDARD:
        return str(standard_rate(on))
    return rate


def normalise(rate: str) -> str:
    """'exempt', or a percentage without decoration ('22', '22%', ' 22.0 ' → '22')."""
    cleaned = rate.strip().lower().rstrip("%").strip()
    if cleaned in {EXEMPT, "без ндс", "none", "no_vat"}:
        return EXEMPT
    try:
        value = Decimal(cleaned)
    except ArithmeticError as error:
        raise UnknownVatRate(rate) from error
    if value != value.to_integral_value() or not 0 <= value < 100:
        raise UnknownVatRate(rate)
    return str(int(value))


def vat_included(amount: Decimal, rate: str) -> Decimal:
    """The VAT contained in a VAT-inclusive ``amount`` at ``rate``, to the kopeck (half up)."""
    if rate == EXEMPT:
        return ZERO
    percent = Decimal(rate)
    return (amount * percent / (Decimal(100) + percent)).quantize(KOPECK, ROUND_HALF_UP)


@dataclass(frozen=True)
class LineVat:
    """A line's VAT as the document shows it."""

    rate: str
    amount: Decimal
    basis: str | None

    @property
    def label(self) -> str:
        """How the rate is printed: 'Без НДС' or '22%'."""
        return EXEMPT_LABEL if self.rate == EXEMPT else f"{self.rate}%"


def line_vat(rate: str, amount: Decimal, on: date) -> LineVat:
    """The VAT of a line of ``amount`` (VAT included) priced at ``rate``, dated ``on``."""
    effective = rate_in_force(rate, on)
    if effective == EXEMPT:
        return LineVat(EXEMPT, ZERO, EXEMPT_BASIS)
    return LineVat(effective, vat_included(amount, effective), None)


@dataclass(frozen=True)
class RateTotal:
    """Totals of a document's lines at one rate."""

    rate: str
    amount: Decimal
    vat_amount: Decimal

    @property
    def amount_without_vat(self) -> Decimal:
        return self.amount - self.vat_amount


def totals_by_rate(lines: Iterable[tuple[str, Decimal, Decimal]]) -> tuple[RateTotal, ...]:
    """Per rate, the sums of (rate, amount, vat_amount) lines; exempt first, then by rate."""
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for rate, amount, vat in lines:
        total, total_vat = sums.get(rate, (ZERO, ZERO))
        sums[rate] = (total + amount, total_vat + vat)

    def order(rate: str) -> tuple[int, int]:
        return (0, 0) if rate == EXEMPT else (1, int(rate))

    return tuple(
        RateTotal(rate, sums[rate][0].quantize(KOPECK), sums[rate][1].quantize(KOPECK))
        for rate in sorted(sums, key=order)
    )
