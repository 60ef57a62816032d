"""The catalog's RabbitMQ router: contract in, use case called, nothing else."""

from __future__ import annotations

from esd_contracts.catalog.commands import (
    ImportPriceList,
    PriceListImported,
    PriceRuleSet,
    SetPriceRule,
)
from esd_contracts.catalog.queries import ProductQuote, QuoteProduct
from esd_platform.messaging import answers
from esd_platform.service import Service
from faststream.rabbit import RabbitRouter

from catalog.service_layer.importing import import_price_list
from catalog.service_layer.price_rules import set_price_rule
from catalog.service_layer.quotes import quote_product


def build_router(service: Service) -> RabbitRouter:
    router = RabbitRouter()

    @answers(router, ImportPriceList)
    async def on_import_price_list(cmd: ImportPriceList) -> PriceListImported:
        # idempotent by content: a redelivered import finds its rows applied and reports them
        # unchanged, so no inbox row is needed (and a dry run must not consume the id)
        return await import_price_list(cmd, service.uow, service.clock)

    @answers(router, SetPriceRule)
    async def on_set_price_rule(cmd: SetPriceRule) -> PriceRuleSet:
        # idempotent by content: the same rule again is answered with its revision, no event
        return await set_price_rule(cmd, service.uow, service.clock)

    @answers(router, QuoteProduct)
    async def on_quote_product(query: QuoteProduct) -> ProductQuote:
        return await quote_product(query, service.uow, service.clock)

    return router
