"""An order's money, fixed at acceptance: amount and the VAT included in it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
VAT_EXEMPT = "exempt"


def order_amount(unit_price: Decimal, quantity: int) -> Decimal:
    """``unit_price × quantity`` to the kopeck."""
    return (unit_price * quantity).quantize(KOPECK, rounding=ROUND_HALF_UP)


def included_vat(amount: Decimal, vat_rate: str) -> Decimal:
    """VAT contained in a VAT-inclusive ``amount``: ``amount × r / (100 + r)``, half up.

    ``vat_rate`` is ``'exempt'`` (no VAT) or a percentage such as ``'22'`` or ``'10'``.
    """
    if vat_rate == VAT_EXEMPT:
        return Decimal("0.00")
    rate = Decimal(vat_rate)
    return (amount * rate / (Decimal(100) + rate)).quantize(KOPECK, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """Money on the HTTP wire: a two-place string."""
    return f"{value.quantize(KOPECK, rounding=ROUND_HALF_UP):.2f}"
