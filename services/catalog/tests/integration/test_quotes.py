"""QuoteProduct: a partner's price from the catalog's data and rules, with VAT."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from catalog.bootstrap import build_service
from catalog.settings import CatalogSettings
from esd_contracts.catalog.commands import (
    ImportPriceList,
    PriceListImported,
    PriceRuleSet,
    SetPriceRule,
)
from esd_contracts.catalog.events import PriceAdjustment
from esd_contracts.catalog.queries import ProductQuote, QuoteProduct
from esd_contracts.envelope import Message
from esd_platform.messaging import topic_exchange
from esd_platform.service import Service
from esd_platform.testing import isolated_settings
from pydantic import BaseModel

pytestmark = pytest.mark.integration

R = TypeVar("R", bound=BaseModel)


@pytest.fixture
async def catalog() -> AsyncIterator[Service]:
    async with isolated_settings() as settings:
        service = build_service(settings, CatalogSettings(seed_demo=False))
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def ask(service: Service, message_type: type[Message], reply: type[R], **fields: Any) -> R:
    message = message_type(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), **fields)
    answer = await service.broker.request(
        message.model_dump_json().encode(),
        exchange=topic_exchange(message.exchange_name()),
        routing_key=message.message_type(),
        timeout=10,
        content_type="application/json",
        **message.envelope(),
    )
    return reply.model_validate_json(answer.body)


class TestQuoteProduct:
    async def test_prices_by_partner_then_distributor_rule(self, catalog: Service) -> None:
        imported = await ask(
            catalog,
            ImportPriceList,
            PriceListImported,
            format="csv",
            content=(
                "sku;name;price;vendor;category;vat\n"
                "KL-KIS;Kaspersky Internet Security;2000;Kaspersky;antivirus;exempt\n"
                "LR-1;Аудиокнига;610;ЛитРес;audiobooks;22\n"
            ),
        )
        assert len(imported.added) == 2
        partner, distributor = uuid.uuid4(), uuid.uuid4()
        ok = await ask(
            catalog,
            SetPriceRule,
            PriceRuleSet,
            scope="distributor",
            owner_id=distributor,
            adjustments=(PriceAdjustment(percent=Decimal("-10"), category_id="security"),),
        )
        assert ok.accepted
        ok = await ask(
            catalog,
            SetPriceRule,
            PriceRuleSet,
            scope="partner",
            owner_id=partner,
            adjustments=(PriceAdjustment(fixed_price=Decimal("500.00"), sku="LR-1"),),
        )
        assert ok.accepted

        kis = await ask(
            catalog,
            QuoteProduct,
            ProductQuote,
            sku="KL-KIS",
            partner_id=partner,
            distributor_id=distributor,
            quantity=3,
        )
        assert (kis.found, kis.base_price, kis.unit_price) == (
            True,
            Decimal("2000.00"),
            Decimal("1800.00"),
        )
        assert (kis.amount, kis.vat_amount) == (Decimal("5400.00"), Decimal("0.00"))
        assert "149" in kis.vat_basis

        book = await ask(
            catalog,
            QuoteProduct,
            ProductQuote,
            sku="LR-1",
            partner_id=partner,
            distributor_id=distributor,
            quantity=2,
        )
        assert (book.unit_price, book.amount, book.vat_amount) == (
            Decimal("500.00"),
            Decimal("1000.00"),
            Decimal("180.33"),
        )

        alone = await ask(catalog, QuoteProduct, ProductQuote, sku="KL-KIS")
        assert alone.unit_price == Decimal("2000.00")
        missing = await ask(catalog, QuoteProduct, ProductQuote, sku="NOPE")
        assert not missing.found
