"""Read-only queries the catalog answers over direct reply-to."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.catalog.events import KeySource, RequiredField
from esd_contracts.envelope import Money, Query


class QuoteProduct(Query):
    """One product's price for one partner, with VAT and the order rules, from the catalog's own
    data and price rules (the partner's own rule first, then its distributor's)."""

    CONTEXT: ClassVar[str] = "catalog"

    sku: str = Field(description="The product")
    partner_id: uuid.UUID | None = Field(default=None, description="Whose price (its own rule)")
    distributor_id: uuid.UUID | None = Field(
        default=None, description="The partner's regional distributor, if any (its rule)"
    )
    quantity: int = Field(default=1, ge=1, le=1000, description="Units, for amount and VAT")


class ProductQuote(BaseModel):
    """Answer to :class:`QuoteProduct`; ``found`` False for an unknown sku (nothing else set)."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False when no product has this sku")
    sku: str = Field(description="The product")
    revision: int = Field(default=0, description="The product revision this quote is from")
    name: str = Field(default="", description="Product name")
    active: bool = Field(default=False, description="Inactive products cannot be ordered")
    kind: str = Field(default="key", description="'key' or 'subscription'")
    key_source: KeySource = Field(default="generator", description="Which keys adapter issues")
    base_price: Money | None = Field(default=None, description="Base price, RUB")
    unit_price: Money | None = Field(default=None, description="This partner's price, RUB")
    amount: Money | None = Field(default=None, description="unit_price × quantity")
    vat_rate: str = Field(default="exempt", description="'exempt' or a percentage")
    vat_amount: Money | None = Field(default=None, description="VAT included in amount")
    vat_basis: str = Field(default="", description="Legal basis of the VAT rate")
    required_fields: tuple[RequiredField, ...] = Field(
        default=(), description="Fields an order of this product must carry"
    )
    download_url: str = Field(default="", description="The vendor's distribution")
