"""Money as partners see it: an order's amount and VAT fixed at acceptance, and the partner's
price of a product after its price rules (its own, then its regional distributor's)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from esd_feeds.pricing import PriceRule, partner_price, rule_from_lines

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


# -- partner prices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerRules:
    """The price rules that apply to one partner: its own, then its regional distributor's.

    ``tag`` names exactly these rules (owner and revision of each), so that an answer built
    from them (a feed, its ETag) changes whenever one of them changes.
    """

    own: PriceRule | None = None
    distributor: PriceRule | None = None
    tag: tuple[object, ...] = ()

    def price(self, product: PricedProduct) -> Decimal:
        """This partner's price of ``product`` (see :func:`esd_feeds.pricing.partner_price`)."""
        return partner_price(
            _Priced(product.sku, product.vendor_id, Decimal(product.base_price)),
            (self.own, self.distributor),
            category_ids(product.category_path),
        )


NO_RULES = PartnerRules()


class PricedProduct(Protocol):
    """A product replica row as pricing reads it."""

    @property
    def sku(self) -> str: ...
    @property
    def vendor_id(self) -> str | None: ...
    @property
    def base_price(self) -> Decimal: ...
    @property
    def category_path(self) -> Any: ...


@dataclass(frozen=True)
class _Priced:
    sku: str
    vendor_id: str | None
    base_price: Decimal


def category_ids(path: Any) -> tuple[str, ...]:
    """The ids of a product's category path, root first (``[{id, name}, …]`` from the replica)."""
    return tuple(str(node["id"]) for node in path or () if isinstance(node, dict) and "id" in node)


def rule_of(adjustments: Any, removed: bool) -> PriceRule | None:
    """A stored rule (its adjustment lines as JSON); None when removed or empty."""
    if removed or not adjustments:
        return None
    return rule_from_lines(adjustments)
