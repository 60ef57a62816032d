"""The catalog's use cases on the real database, events read from the outbox (no broker)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from catalog.domain.demo_catalog import build_demo_catalog
from catalog.service_layer.importing import import_price_list
from catalog.service_layer.price_rules import set_price_rule
from catalog.service_layer.quotes import quote_product
from catalog.service_layer.seeding import seed_demo_catalog
from esd_contracts.catalog.commands import ImportPriceList, SetPriceRule
from esd_contracts.catalog.events import PriceAdjustment
from esd_contracts.catalog.queries import QuoteProduct
from esd_platform.uow import UnitOfWork
from sqlalchemy import text

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def rows(uow: UnitOfWork, sql: str, **params: Any) -> list[Any]:
    async with uow.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def staged(uow: UnitOfWork, message_type: str) -> list[dict[str, Any]]:
    found = await rows(
        uow, "SELECT body FROM outbox WHERE message_type = :t ORDER BY seq", t=message_type
    )
    return [json.loads(r.body) for r in found]


class TestSeedOnPostgres:
    async def test_seeds_fast_with_one_staged_event_per_product(self, uow: UnitOfWork) -> None:
        demo = build_demo_catalog()
        started = time.perf_counter()
        assert await seed_demo_catalog(uow, uow.clock) == len(demo.products)
        elapsed = time.perf_counter() - started
        assert elapsed < 5.0, f"seeding took {elapsed:.2f} s"
        events = await staged(uow, "catalog.ProductChanged.v1")
        assert len(events) == len(demo.products)
        assert {e["sku"] for e in events} == {p.sku for p in demo.products}
        active = await rows(uow, "SELECT count(*) AS n FROM products WHERE active")
        assert active[0].n >= 3200
        assert await seed_demo_catalog(uow, uow.clock) == 0
        assert len(await staged(uow, "catalog.ProductChanged.v1")) == len(demo.products)


class TestImportOnPostgres:
    async def test_upserts_and_stages_one_event_per_change(self, uow: UnitOfWork) -> None:
        await seed_demo_catalog(uow, uow.clock, with_products=False)
        csv = (
            "\ufeffАртикул;Наименование;Цена;Производитель;Категория\n"
            "ES-1;ESET NOD32;1 390,00;ESET;Антивирусы\n"
            "ES-2;ESET Smart Security;1990;ESET;antivirus\n"
        )
        cmd = ImportPriceList(
            correlation_id=uuid.uuid4(), occurred_at=now(), format="csv", content=csv
        )
        first = await import_price_list(cmd, uow, uow.clock)
        assert [r.sku for r in first.added] == ["ES-1", "ES-2"]
        second = await import_price_list(cmd, uow, uow.clock)
        assert second.unchanged == 2
        events = await staged(uow, "catalog.ProductChanged.v1")
        assert [(e["sku"], e["revision"]) for e in events] == [("ES-1", 1), ("ES-2", 1)]
        assert events[0]["category_path"] == [
            {"id": "security", "name": "Безопасность"},
            {"id": "antivirus", "name": "Антивирусы"},
        ]

    async def test_a_20000_row_price_list_imports_in_one_request(self, uow: UnitOfWork) -> None:
        await seed_demo_catalog(uow, uow.clock, with_products=False)
        lines = ["sku;name;price;vendor;category"]
        lines += [f"BIG-{n};Product {n};{100 + n},00;Big Vendor;antivirus" for n in range(20_000)]
        cmd = ImportPriceList(
            correlation_id=uuid.uuid4(), occurred_at=now(), format="csv", content="\n".join(lines)
        )
        started = time.perf_counter()
        answer = await import_price_list(cmd, uow, uow.clock)
        elapsed = time.perf_counter() - started
        assert len(answer.added) == 20_000
        assert answer.refused == ()
        assert elapsed < 60, f"20,000 rows took {elapsed:.1f} s"  # ~4 s on an idle machine


class TestPriceRulesAndQuotesOnPostgres:
    async def test_rule_then_quote(self, uow: UnitOfWork) -> None:
        await seed_demo_catalog(uow, uow.clock)
        partner = uuid.uuid4()
        answer = await set_price_rule(
            SetPriceRule(
                correlation_id=partner,
                occurred_at=now(),
                scope="partner",
                owner_id=partner,
                adjustments=(PriceAdjustment(percent=Decimal("-10"), vendor_id="kaspersky"),),
            ),
            uow,
            uow.clock,
        )
        assert (answer.accepted, answer.revision) == (True, 1)
        assert len(await staged(uow, "catalog.PriceRuleChanged.v1")) == 1
        quote = await quote_product(
            QuoteProduct(
                correlation_id=partner, occurred_at=now(), sku="KL-KSOS-5-1Y-N", partner_id=partner
            ),
            uow,
            uow.clock,
        )
        assert quote.base_price is not None
        assert quote.unit_price == (quote.base_price * Decimal("0.9")).quantize(Decimal("0.01"))
        assert quote.required_fields[0].pattern == "^[0-9]{6}$"
