"""Money as partners see it: an order's amount and VAT fixed at acceptance, and the partner's
price of a product after its price rules (its own, then its regional distributor's)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from esd_feeds.pricing import Adjustment, PriceRule, rule_from_lines

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


class IndexedRule:
    """A price rule prepared for pricing thousands of products in a row (a feed): its sku lines
    by sku, and the best of its other lines remembered per (vendor, category path), since a
    catalog has few of those. Resolves exactly as :meth:`esd_feeds.pricing.PriceRule.best`."""

    def __init__(self, rule: PriceRule) -> None:
        self.rule = rule
        self._by_sku: dict[str, list[Adjustment]] = {}
        self._general: list[Adjustment] = []
        for adjustment in rule.adjustments:
            if adjustment.sku is None:
                self._general.append(adjustment)
            else:
                self._by_sku.setdefault(adjustment.sku, []).append(adjustment)
        self._remembered: dict[tuple[str | None, tuple[str, ...]], Adjustment | None] = {}

    def best(
        self, sku: str, vendor_id: str | None, categories: tuple[str, ...]
    ) -> Adjustment | None:
        for_sku = self._by_sku.get(sku)
        if for_sku:
            # a matching sku line beats every other line (specificity's first component)
            found = PriceRule(tuple(for_sku)).best(sku, vendor_id, categories)
            if found is not None:
                return found
        key = (vendor_id, categories)
        if key not in self._remembered:
            self._remembered[key] = PriceRule(tuple(self._general)).best(sku, vendor_id, categories)
        return self._remembered[key]


class PartnerRules:
    """The price rules that apply to one partner: its own, then its regional distributor's.

    ``tag`` names exactly these rules (owner and revision of each), so that an answer built
    from them (a feed, its ETag) changes whenever one of them changes.
    """

    def __init__(
        self,
        own: PriceRule | None = None,
        distributor: PriceRule | None = None,
        tag: tuple[object, ...] = (),
    ) -> None:
        self.own = own
        self.distributor = distributor
        self.tag = tag
        self._rules = tuple(IndexedRule(r) for r in (own, distributor) if r is not None)

    def price_of(
        self, sku: str, vendor_id: str | None, base_price: Decimal, categories: tuple[str, ...]
    ) -> Decimal:
        """This partner's price (as :func:`esd_feeds.pricing.partner_price` decides it);
        ``categories`` are the ids of the product's category path, root first."""
        for rule in self._rules:
            adjustment = rule.best(sku, vendor_id, categories)
            if adjustment is not None:
                return adjustment.apply(base_price)
        return base_price.quantize(KOPECK, rounding=ROUND_HALF_UP)

    def price(self, product: PricedProduct) -> Decimal:
        """This partner's price of a replica row."""
        return self.price_of(
            product.sku,
            product.vendor_id,
            Decimal(product.base_price),
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


def category_ids(path: Any) -> tuple[str, ...]:
    """The ids of a product's category path, root first (``[{id, name}, …]`` from the replica)."""
    return tuple(str(node["id"]) for node in path or () if isinstance(node, dict) and "id" in node)


def rule_of(adjustments: Any, removed: bool) -> PriceRule | None:
    """A stored rule (its adjustment lines as JSON); None when removed or empty."""
    if removed or not adjustments:
        return None
    return rule_from_lines(adjustments)
