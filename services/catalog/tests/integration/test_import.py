"""Ops imports a price list over request/reply; every change reaches catalog.events."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aio_pika
import pytest
from catalog.bootstrap import build_service
from catalog.settings import CatalogSettings
from esd_contracts.catalog.commands import ImportPriceList, PriceListImported
from esd_contracts.catalog.events import ProductChanged
from esd_platform.messaging import topic_exchange
from esd_platform.service import Service
from esd_platform.testing import isolated_settings
from sqlalchemy import text

pytestmark = pytest.mark.integration

PRICE_LIST = (
    "Артикул;Наименование;Цена, руб.;Производитель;Категория;НДС\r\n"
    "ES-NOD-1;ESET NOD32 Антивирус, 1 устройство, 1 год;1 390,00;ESET;Антивирусы;без НДС\r\n"
    "ES-NOD-3;ESET NOD32 Антивирус, 3 устройства, 1 год;2 490,00;ESET;Антивирусы;без НДС\r\n"
    "ES-BAD;ESET со сломанной ценой;дорого;ESET;Антивирусы;без НДС\r\n"
    "LR-AB-1;Л. Н. Толстой. Война и мир. Аудиокнига;699;ЛитРес;;22%\r\n"
    "ES-NOD-1;Дубль;1;ESET;;\r\n"
)


@pytest.fixture
async def catalog() -> AsyncIterator[Service]:
    async with isolated_settings() as settings:
        service = build_service(settings, CatalogSettings(seed_demo=False))
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def send(service: Service, **fields: object) -> PriceListImported:
    cmd = ImportPriceList(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), **fields)
    reply = await service.broker.request(
        cmd.model_dump_json().encode(),
        exchange=topic_exchange(cmd.exchange_name()),
        routing_key=cmd.message_type(),
        timeout=20,
        content_type="application/json",
        **cmd.envelope(),
    )
    return PriceListImported.model_validate_json(reply.body)


async def drain(service: Service, expected: int) -> list[ProductChanged]:
    """The events in gateway.ProductChanged once the outbox is empty (exactly ``expected``)."""
    deadline = asyncio.get_running_loop().time() + 15
    while await service.outbox.backlog():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    connection = await aio_pika.connect(service.settings.amqp_url)
    events: list[ProductChanged] = []
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("gateway.ProductChanged", passive=True)
        while len(events) < expected:
            message = await queue.get(no_ack=True, fail=False, timeout=5)
            assert message is not None, f"only {len(events)} of {expected} events"
            events.append(ProductChanged.model_validate_json(message.body))
        assert await queue.get(no_ack=True, fail=False, timeout=1) is None
    finally:
        await connection.close()
    return events


class TestImportPriceList:
    async def test_imports_a_windows_1251_csv_and_reports_every_row(self, catalog: Service) -> None:
        encoded = base64.b64encode(PRICE_LIST.encode("cp1251")).decode()
        answer = await send(catalog, format="csv", content_base64=encoded, filename="eset.csv")
        assert answer.rows == 5
        assert [(r.line, r.sku) for r in answer.added] == [
            (2, "ES-NOD-1"),
            (3, "ES-NOD-3"),
            (5, "LR-AB-1"),
        ]
        assert [(r.line, r.sku) for r in answer.refused] == [(4, "ES-BAD"), (6, "ES-NOD-1")]
        assert "price" in answer.refused[0].reason
        assert "duplicate" in answer.refused[1].reason

        events = {e.sku: e for e in await drain(catalog, 3)}
        assert events["ES-NOD-1"].base_price == Decimal("1390.00")
        assert events["ES-NOD-1"].vendor == "ESET"
        assert events["ES-NOD-1"].category == "Антивирусы"
        assert events["LR-AB-1"].vat_rate == "22"
        assert events["LR-AB-1"].category == "Прочее"
        assert {e.revision for e in events.values()} == {1}

    async def test_the_same_list_again_changes_nothing_and_a_new_price_is_one_event(
        self, catalog: Service
    ) -> None:
        await send(catalog, format="csv", content=PRICE_LIST)
        await drain(catalog, 3)

        again = await send(catalog, format="csv", content=PRICE_LIST)
        assert again.added == ()
        assert again.changed == ()
        assert again.unchanged == 3
        await drain(catalog, 0)

        changed = await send(
            catalog, format="json", content='[{"sku": "ES-NOD-1", "price": "1 490,00"}]'
        )
        assert [(r.sku, r.changes) for r in changed.changed] == [("ES-NOD-1", ("base_price",))]
        (event,) = await drain(catalog, 1)
        assert (event.sku, event.revision, event.base_price) == ("ES-NOD-1", 2, Decimal("1490.00"))
        assert event.name == "ESET NOD32 Антивирус, 1 устройство, 1 год"  # kept from before

    async def test_retire_missing_and_dry_run(self, catalog: Service) -> None:
        await send(catalog, format="csv", content=PRICE_LIST)
        await drain(catalog, 3)

        dry = await send(
            catalog,
            format="csv",
            content="sku;price\nES-NOD-1;1390\n",
            vendor="ESET",
            retire_missing=True,
            dry_run=True,
        )
        assert [r.sku for r in dry.retired] == ["ES-NOD-3"]
        await drain(catalog, 0)

        real = await send(
            catalog,
            format="csv",
            content="sku;price\nES-NOD-1;1390\n",
            vendor="ESET",
            retire_missing=True,
        )
        assert [r.sku for r in real.retired] == ["ES-NOD-3"]
        (event,) = await drain(catalog, 1)
        assert (event.sku, event.active, event.revision) == ("ES-NOD-3", False, 2)
        async with catalog.engine.connect() as conn:
            active = (
                await conn.execute(text("SELECT active FROM products WHERE sku = 'LR-AB-1'"))
            ).scalar_one()
        assert active is True  # another vendor's product is untouched
