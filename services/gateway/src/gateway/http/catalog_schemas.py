"""HTTP bodies of the catalog's ops endpoints (price rules, price-list imports)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec


class PriceAdjustmentBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One line of a price rule: ``percent`` (negative = discount) or ``fixed_price`` (needs
    ``sku``), aimed at a sku, a vendor, a category (and its subcategories), or everything."""

    percent: Annotated[Decimal, msgspec.Meta(description='e.g. "-12.5"')] | None = None
    fixed_price: Annotated[Decimal, msgspec.Meta(description='RUB, e.g. "990.00"')] | None = None
    sku: str | None = None
    vendor_id: Annotated[str, msgspec.Meta(description='e.g. "kaspersky"')] | None = None
    category_id: Annotated[str, msgspec.Meta(description='e.g. "antivirus"')] | None = None


class PriceRuleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    adjustments: Annotated[list[PriceAdjustmentBody], msgspec.Meta(max_length=1000)]


class PriceAdjustmentRead(msgspec.Struct, omit_defaults=True):
    percent: str | None = None
    fixed_price: str | None = None
    sku: str | None = None
    vendor_id: str | None = None
    category_id: str | None = None


class PriceRuleRead(msgspec.Struct):
    scope: Literal["partner", "distributor"]
    owner_id: uuid.UUID
    revision: int
    adjustments: list[PriceAdjustmentRead]
    removed: bool = False
