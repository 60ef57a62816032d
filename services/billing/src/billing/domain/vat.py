"""VAT of a document line. Pure rules: Decimal only.

Phase one takes the VAT the order was priced with; an exempt line carries none.
"""

from __future__ import annotations

from decimal import Decimal

KOPECK = Decimal("0.01")
EXEMPT = "exempt"


def line_vat(rate: str, amount: Decimal, given: Decimal) -> Decimal:
    """VAT included in a line: zero for an exempt line, else the priced VAT to the kopeck."""
    if rate == EXEMPT:
        return Decimal("0.00")
    return given.quantize(KOPECK)
