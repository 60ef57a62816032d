"""A product's price for one partner, from the catalog's own data: read-only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from esd_contracts.catalog.events import RequiredField as WireRequiredField
from esd_contracts.catalog.queries import ProductQuote, QuoteProduct
from esd_feeds.pricing import PriceRule, partner_price, rule_from_lines, vat_included
from esd_platform.clock import Clock
from esd_platform.uow import UnitOfWork

from catalog.adapters import repository
from catalog.domain import vat


@dataclass(frozen=True)
class _Priced:
    sku: str
    vendor_id: str | None
    base_price: Decimal


async def quote_product(query: QuoteProduct, uow: UnitOfWork, clock: Clock) -> ProductQuote:
    async with uow.engine.connect() as conn:
        product = await repository.get_product(conn, query.sku)
        if product is None:
            return ProductQuote(found=False, sku=query.sku)
        rules: list[PriceRule | None] = []
        for scope, owner in (("partner", query.partner_id), ("distributor", query.distributor_id)):
            lines = None if owner is None else await repository.price_rule_lines(conn, scope, owner)
            rules.append(None if lines is None else rule_from_lines(lines))
        path = [c.id for c in await repository.category_path(conn, product.category)]
    unit_price = partner_price(
        _Priced(product.sku, product.vendor, product.base_price), rules, path
    )
    amount = unit_price * query.quantity
    return ProductQuote(
        found=True,
        sku=product.sku,
        revision=product.revision,
        name=product.name,
        active=product.active,
        kind=product.kind,
        key_source=product.key_source,
        base_price=product.base_price,
        unit_price=unit_price,
        amount=amount,
        vat_rate=product.vat_rate,
        vat_amount=vat_included(amount, product.vat_rate),
        vat_basis=vat.basis(product.vat_rate, clock.today_moscow()),
        required_fields=tuple(
            WireRequiredField(name=f.name, title=f.title, pattern=f.pattern)
            for f in product.required_fields
        ),
        download_url=product.download_url,
    )
