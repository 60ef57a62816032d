"""Events the catalog publishes."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Event, Money

KeySource = Literal["generator", "pool", "vendor_api"]


class RequiredField(BaseModel):
    """A field the partner must send with an order of this product (e.g. a Kaspersky PIN)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Key in the order's `fields` object")
    title: str = Field(description="Human title of the field")
    pattern: str = Field(description="Regular expression the whole value must match")


class CategoryRef(BaseModel):
    """One node of the category tree, as a product's path from the root carries it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable category id, e.g. 'antivirus'")
    name: str = Field(description="Category name, e.g. 'Антивирусы'")


class ProductChanged(Event):
    """A product was created or any of its attributes changed; carries the whole product.

    ``correlation_id`` is a fresh id per change. Consumers keep a replica keyed by ``sku`` and
    apply a change only when its ``revision`` is newer than the one they hold.
    """

    CONTEXT: ClassVar[str] = "catalog"

    sku: str = Field(description="Stock keeping unit, unique across the catalog")
    revision: int = Field(description="Monotonic revision of this product; newer wins")
    name: str = Field(description="Product name as partners see it")
    vendor: str = Field(description="Vendor name, e.g. 'Kaspersky'")
    version: str = Field(description="Product version, e.g. '2026'")
    category: str = Field(description="Category name")
    kind: Literal["key", "subscription"] = Field(description="One-off key or a subscription")
    base_price: Money = Field(description="Base price before partner terms, RUB")
    vat_rate: str = Field(description="'exempt' or a percentage such as '22'")
    required_fields: tuple[RequiredField, ...] = Field(
        default=(), description="Fields an order of this product must carry"
    )
    download_url: str = Field(description="Where the vendor's distribution is downloaded")
    key_source: KeySource = Field(description="Which keys adapter issues this product's keys")
    active: bool = Field(description="Inactive products cannot be ordered")
    vendor_id: str | None = Field(default=None, description="Stable vendor id, e.g. 'kaspersky'")
    category_id: str | None = Field(default=None, description="Stable id of `category`")
    category_path: tuple[CategoryRef, ...] = Field(
        default=(),
        description="The category tree from the root down to `category` (feeds build the "
        "tree from these: CommerceML groups, YML categories)",
    )
    predecessor_sku: str | None = Field(
        default=None, description="The previous version's sku, when this is a new version"
    )
    vat_basis: str = Field(
        default="",
        description="Legal basis of `vat_rate` (the Tax Code article), for documents and feeds",
    )


PriceRuleScope = Literal["partner", "distributor"]


class PriceAdjustment(BaseModel):
    """One line of a price rule: a percentage (negative = discount) or a fixed price, aimed at
    a sku, a vendor, a category (with its subcategories), a vendor within a category, or all.

    Precedence (``esd_feeds.pricing``): the partner's own rule before its distributor's; within
    a rule a sku first, then the deepest category, then a vendor, then everything.
    """

    model_config = ConfigDict(frozen=True)

    percent: Decimal | None = Field(
        default=None, description="Markup (+) or discount (−) on the base price, e.g. '-12.5'"
    )
    fixed_price: Money | None = Field(default=None, description="Fixed price; needs `sku`")
    sku: str | None = Field(default=None, description="Only this product")
    vendor_id: str | None = Field(default=None, description="Only this vendor's products")
    category_id: str | None = Field(
        default=None, description="Only this category and its subcategories"
    )


class PriceRuleChanged(Event):
    """A partner's or a regional distributor's price rule was set or removed (whole rule).

    ``correlation_id`` is the owner's partner id. Consumers keep a replica keyed by
    (``scope``, ``owner_id``) and apply a change only when its ``revision`` is newer.
    """

    CONTEXT: ClassVar[str] = "catalog"

    scope: PriceRuleScope = Field(
        description="'partner': the owner's own prices; 'distributor': prices of every "
        "partner under the distributor `owner_id`"
    )
    owner_id: uuid.UUID = Field(description="The partner id of the partner or distributor")
    revision: int = Field(description="Monotonic revision of this rule; newer wins")
    adjustments: tuple[PriceAdjustment, ...] = Field(
        default=(), description="The rule's lines; empty when `removed`"
    )
    removed: bool = Field(default=False, description="The rule no longer exists")
