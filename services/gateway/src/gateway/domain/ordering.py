"""Intake rules of an order, decided at once from the product replica (no I/O here)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.domain.errors import Refusal
from gateway.domain.pricing import included_vat, order_amount

MIN_QUANTITY = 1
MAX_QUANTITY = 1000


@dataclass(frozen=True)
class RequiredField:
    name: str
    title: str
    pattern: str


@dataclass(frozen=True)
class ProductTerms:
    """What intake needs to know of a product."""

    sku: str
    name: str
    unit_price: Decimal
    vat_rate: str
    active: bool
    key_source: str
    required_fields: Sequence[RequiredField] = ()


@dataclass(frozen=True)
class OrderRequest:
    external_id: str
    sku: str
    quantity: int
    test: bool = False
    fields: Mapping[str, str] | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class PricedOrder:
    """An accepted order's lines, fixed at acceptance."""

    unit_price: Decimal
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    fields: dict[str, str]


def check_quantity(quantity: Any) -> None:
    """An integer in 1..1000 (a JSON bool is not an integer here)."""
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not MIN_QUANTITY <= quantity <= MAX_QUANTITY
    ):
        raise Refusal("invalid_quantity", f"quantity must be an integer in 1..{MAX_QUANTITY}")


def accept(request: OrderRequest, product: ProductTerms | None) -> PricedOrder:
    """Check the request against the product and fix its money; raises :class:`Refusal`."""
    if product is None:
        raise Refusal("unknown_sku", f"no product with sku {request.sku!r}")
    if not product.active:
        raise Refusal("product_inactive", f"product {request.sku!r} cannot be ordered now")
    check_quantity(request.quantity)
    fields = dict(request.fields or {})
    kept: dict[str, str] = {}
    for required in product.required_fields:
        value = fields.get(required.name)
        if value is None or value == "":
            raise Refusal(
                "missing_required_field",
                f"field {required.name!r} ({required.title}) is required for this product",
            )
        if re.fullmatch(required.pattern, value) is None:
            raise Refusal(
                "invalid_field", f"field {required.name!r} ({required.title}) has a wrong format"
            )
        kept[required.name] = value
    amount = order_amount(product.unit_price, request.quantity)
    return PricedOrder(
        unit_price=product.unit_price,
        amount=amount,
        vat_rate=product.vat_rate,
        vat_amount=included_vat(amount, product.vat_rate),
        fields=kept,
    )


def fingerprint(request: OrderRequest) -> str:
    """Identity of a request body for idempotency: equal bodies, equal fingerprints.

    Defaults are normalised (``test`` omitted = false, ``fields`` omitted = ``{}``), so a
    retry that spells a default out is still "the same body".
    """
    canonical = json.dumps(
        {
            "external_id": request.external_id,
            "sku": request.sku,
            "quantity": request.quantity,
            "test": bool(request.test),
            "fields": dict(sorted((request.fields or {}).items())),
            "callback_url": request.callback_url or None,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
