"""A partner's price: the base price adjusted by price rules. Pure, Decimal only.

A rule belongs to a partner, or to a regional distributor and then applies to every partner
under it. A rule is a list of adjustments, each a percentage (negative = discount, positive =
markup) or a fixed price, aimed at one sku, a vendor, a category (and its subcategories), a
vendor within a category, or everything.

Resolution, first match wins:
1. the partner's own rule, then the distributor's rule;
2. within a rule, the most specific adjustment: a sku first, then the deepest category on the
   product's path (a vendor within that category before the category alone), then a vendor,
   then everything.
No matching adjustment anywhere: the base price.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
MIN_PERCENT = Decimal("-100")
MAX_PERCENT = Decimal("1000")


class Priced(Protocol):
    """What pricing needs to know about a product."""

    @property
    def sku(self) -> str: ...
    @property
    def vendor_id(self) -> str | None: ...
    @property
    def base_price(self) -> Decimal: ...


@dataclass(frozen=True)
class Adjustment:
    """One line of a rule. Exactly one of ``percent`` and ``fixed_price`` is set; a fixed price
    needs ``sku``. Empty ``vendor_id``/``category_id``/``sku`` mean "any"."""

    percent: Decimal | None = None
    fixed_price: Decimal | None = None
    sku: str | None = None
    vendor_id: str | None = None
    category_id: str | None = None

    def matches(self, sku: str, vendor_id: str | None, categories: Sequence[str]) -> bool:
        return (
            (self.sku is None or self.sku == sku)
            and (self.vendor_id is None or self.vendor_id == vendor_id)
            and (self.category_id is None or self.category_id in categories)
        )

    def specificity(self, categories: Sequence[str]) -> tuple[int, int, int]:
        """Higher is more specific: a sku, then the deeper category, then a named vendor."""
        depth = categories.index(self.category_id) + 1 if self.category_id in categories else 0
        return (
            1 if self.sku is not None else 0,
            depth,
            1 if self.vendor_id is not None else 0,
        )

    def apply(self, base_price: Decimal) -> Decimal:
        if self.fixed_price is not None:
            return self.fixed_price.quantize(CENT, rounding=ROUND_HALF_UP)
        percent = self.percent or Decimal(0)
        price = base_price * (Decimal(100) + percent) / Decimal(100)
        return max(price.quantize(CENT, rounding=ROUND_HALF_UP), Decimal("0.00"))


@dataclass(frozen=True)
class PriceRule:
    """A partner's or a distributor's adjustments."""

    adjustments: tuple[Adjustment, ...] = ()

    def best(self, sku: str, vendor_id: str | None, categories: Sequence[str]) -> Adjustment | None:
        matching = [a for a in self.adjustments if a.matches(sku, vendor_id, categories)]
        if not matching:
            return None
        return max(matching, key=lambda a: a.specificity(categories))


def partner_price(
    product: Priced,
    rules: Iterable[PriceRule | None],
    categories: Sequence[str] = (),
) -> Decimal:
    """The price a partner pays for ``product``.

    ``rules`` in order of precedence: the partner's own rule, then its distributor's (None for
    a missing one). ``categories`` is the product's category path from the root (ids).
    """
    for rule in rules:
        if rule is None:
            continue
        adjustment = rule.best(product.sku, product.vendor_id, categories)
        if adjustment is not None:
            return adjustment.apply(product.base_price)
    return product.base_price.quantize(CENT, rounding=ROUND_HALF_UP)


def problems(adjustment: Adjustment) -> list[str]:
    """Why ``adjustment`` cannot be stored; empty when it can."""
    found: list[str] = []
    if (adjustment.percent is None) == (adjustment.fixed_price is None):
        found.append("give exactly one of percent and fixed_price")
    if adjustment.percent is not None and not (MIN_PERCENT <= adjustment.percent <= MAX_PERCENT):
        found.append(f"percent must be between {MIN_PERCENT} and {MAX_PERCENT}")
    if adjustment.fixed_price is not None:
        if adjustment.sku is None:
            found.append("a fixed price needs a sku")
        if adjustment.fixed_price < 0:
            found.append("fixed_price is negative")
        elif adjustment.fixed_price != adjustment.fixed_price.quantize(CENT):
            found.append("fixed_price has more than two decimal places")
    return found


def vat_included(amount: Decimal, vat_rate: str) -> Decimal:
    """The VAT inside a VAT-inclusive ``amount``: 0.00 when exempt, else amount × r / (100 + r),
    rounded half-up to kopecks (the Tax Code's estimated rate, art. 164 p. 4)."""
    if vat_rate == "exempt":
        return Decimal("0.00")
    rate = Decimal(vat_rate)
    return (amount * rate / (Decimal(100) + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def rule_from_lines(lines: Iterable[dict[str, object]]) -> PriceRule:
    """A rule from stored or wire lines ({percent, fixed_price, sku, vendor_id, category_id})."""

    def number(value: object) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return PriceRule(
        tuple(
            Adjustment(
                percent=number(line.get("percent")),
                fixed_price=number(line.get("fixed_price")),
                sku=line.get("sku") or None,  # type: ignore[arg-type]
                vendor_id=line.get("vendor_id") or None,  # type: ignore[arg-type]
                category_id=line.get("category_id") or None,  # type: ignore[arg-type]
            )
            for line in lines
        )
    )
