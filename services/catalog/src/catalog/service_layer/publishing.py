"""Products become ``ProductChanged`` events: the whole product, by revision."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from esd_contracts.catalog.events import ProductChanged
from esd_contracts.catalog.events import RequiredField as WireRequiredField

from catalog.domain.model import Product


def product_changed(
    product: Product,
    *,
    vendors: Mapping[str, str],
    categories: Mapping[str, str],
    now: datetime,
) -> ProductChanged:
    """The event for ``product`` as it now is; vendor and category travel by name."""
    return ProductChanged(
        correlation_id=uuid.uuid4(),  # a fresh id per change, as the contract says
        occurred_at=now,
        sku=product.sku,
        revision=product.revision,
        name=product.name,
        vendor=vendors.get(product.vendor, product.vendor),
        version=product.version,
        category=categories.get(product.category, product.category),
        kind=product.kind,
        base_price=product.base_price,
        vat_rate=product.vat_rate,
        required_fields=tuple(
            WireRequiredField(name=f.name, title=f.title, pattern=f.pattern)
            for f in product.required_fields
        ),
        download_url=product.download_url,
        key_source=product.key_source,
        active=product.active,
    )
