"""Products become ``ProductChanged`` events: the whole product, by revision."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache

from esd_contracts.catalog.events import CategoryRef, ProductChanged
from esd_contracts.catalog.events import RequiredField as WireRequiredField
from esd_platform.clock import moscow_day

from catalog.domain import vat
from catalog.domain.model import CategoryTree, Product


def product_changed(
    product: Product,
    *,
    vendors: Mapping[str, str],
    categories: CategoryTree,
    now: datetime,
) -> ProductChanged:
    """The event for ``product`` as it now is: vendor and category by name and by id, the
    category's path from the root, and the VAT rate's legal basis on the day of the change.

    Built with ``model_construct``: every value comes from a product the domain has already
    checked, and validating 3,000+ events per seed or import cost most of its time.
    """
    path = tuple(
        CategoryRef.model_construct(id=c.id, name=c.name) for c in categories.path(product.category)
    )
    return ProductChanged.model_construct(
        message_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),  # a fresh id per change, as the contract says
        occurred_at=now,
        schema_version=1,
        sku=product.sku,
        revision=product.revision,
        name=product.name,
        vendor=vendors.get(product.vendor, product.vendor),
        version=product.version,
        category=categories.name(product.category),
        kind=product.kind,
        base_price=product.base_price,
        vat_rate=product.vat_rate,
        required_fields=tuple(
            WireRequiredField.model_construct(name=f.name, title=f.title, pattern=f.pattern)
            for f in product.required_fields
        ),
        download_url=product.download_url,
        key_source=product.key_source,
        active=product.active,
        vendor_id=product.vendor,
        category_id=product.category,
        category_path=path,
        predecessor_sku=product.predecessor_sku,
        vat_basis=_vat_basis(product.vat_rate, moscow_day(now)),
    )


@lru_cache(maxsize=64)
def _vat_basis(rate: str, day: date) -> str:
    return vat.basis(rate, day)


@lru_cache(maxsize=1024)
def _path_refs(path: tuple[tuple[str, str], ...]) -> tuple[CategoryRef, ...]:
    return tuple(CategoryRef.model_construct(id=cid, name=name) for cid, name in path)
