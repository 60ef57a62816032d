"""The demo seed on the real broker and database: written once, announced once, in full."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aio_pika
import pytest
from catalog.bootstrap import build_service
from catalog.domain.demo_catalog import build_demo_catalog
from catalog.service_layer.seeding import seed_demo_catalog
from catalog.settings import CatalogSettings
from esd_contracts.catalog.events import ProductChanged
from esd_platform.messaging import declare_topology, make_broker
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from sqlalchemy import text

pytestmark = pytest.mark.integration

DEMO = build_demo_catalog()
WHOLE = CatalogSettings(demo_size="full")
"""What ``make run`` seeds (the test suite's platforms seed the compact one)."""
GATEWAY_QUEUE = "gateway.ProductChanged"


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def scalar(service: Service, sql: str) -> int:
    async with service.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def queued(settings: PlatformSettings, queue: str) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def all_relayed(service: Service, settings: PlatformSettings) -> None:
    """Wait until the outbox is empty and every event sits in the gateway's queue."""

    async def done() -> bool:
        return await service.outbox.backlog() == 0 and (
            await queued(settings, GATEWAY_QUEUE) >= len(DEMO.products)
        )

    await wait_for(done)


class TestDemoSeed:
    async def test_start_seeds_once_and_a_restart_adds_nothing(self) -> None:
        async with isolated_settings() as settings:
            first = build_service(settings, WHOLE)
            await first.start()
            try:
                assert await scalar(first, "SELECT count(*) FROM products") == len(DEMO.products)
                assert await scalar(first, "SELECT count(*) FROM vendors") == len(DEMO.vendors)
                await all_relayed(first, settings)
            finally:
                await first.stop()
            assert await queued(settings, GATEWAY_QUEUE) == len(DEMO.products)

            second = build_service(settings, WHOLE)
            await second.start()
            try:
                assert await seed_demo_catalog(second.uow, second.clock) == 0
                assert await scalar(second, "SELECT count(*) FROM products") == len(DEMO.products)
                assert await second.outbox.backlog() == 0
            finally:
                await second.stop()
            assert await queued(settings, GATEWAY_QUEUE) == len(DEMO.products)

    async def test_two_instances_starting_together_seed_once(self) -> None:
        async with isolated_settings() as settings:
            # the race under test is the seeding in PostgreSQL. The broker's queues exist before
            # (as after any earlier deploy): RabbitMQ 3.10 can close a connection with
            # INTERNAL_ERROR when two consumers attach to a quorum queue in the very moment its
            # first leader is elected, a broker race that is not this test's subject.
            broker = make_broker(settings, "catalog-test")
            await broker.connect()
            try:
                await declare_topology(broker)
            finally:
                await broker.stop()
            one, two = build_service(settings, WHOLE), build_service(settings, WHOLE)
            await asyncio.gather(one.start(), two.start())
            try:
                assert await scalar(one, "SELECT count(*) FROM products") == len(DEMO.products)
                await all_relayed(one, settings)
                await wait_for(lambda: _is_zero(two.outbox.backlog()))
                assert await queued(settings, GATEWAY_QUEUE) == len(DEMO.products)
            finally:
                await asyncio.gather(one.stop(), two.stop())

    async def test_product_changed_carries_the_whole_product(self) -> None:
        by_sku = {p.sku: p for p in DEMO.products}
        vendors = {v.id: v.name for v in DEMO.vendors}
        categories = {c.id: c.name for c in DEMO.categories}
        async with isolated_settings() as settings:
            service = build_service(settings, WHOLE)
            await service.start()
            try:
                await all_relayed(service, settings)
            finally:
                await service.stop()
            connection = await aio_pika.connect(settings.amqp_url)
            try:
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=1000)
                queue = await channel.declare_queue(GATEWAY_QUEUE, passive=True)
                seen: dict[str, ProductChanged] = {}
                async with asyncio.timeout(30), queue.iterator(no_ack=True) as messages:
                    async for message in messages:
                        assert message.type == ProductChanged.message_type()
                        assert message.message_id
                        event = ProductChanged.model_validate_json(message.body)
                        seen[event.sku] = event
                        if len(seen) == len(DEMO.products):
                            break
            finally:
                await connection.close()

        assert seen.keys() == by_sku.keys()
        pin = next(e for e in seen.values() if e.required_fields)
        assert pin.required_fields[0].pattern
        for sku, event in seen.items():
            product = by_sku[sku]
            assert event.revision == 1
            assert event.name == product.name
            assert event.vendor == vendors[product.vendor]
            assert event.category == categories[product.category]
            assert event.base_price == product.base_price
            assert event.vat_rate == product.vat_rate
            assert event.kind == product.kind
            assert event.key_source == product.key_source
            assert event.active == product.active
            assert event.download_url == product.download_url
            assert [f.name for f in event.required_fields] == [
                f.name for f in product.required_fields
            ]
        book = next(e for e in seen.values() if e.vat_rate == "22")
        assert "164" in book.vat_basis
        assert [c.id for c in book.category_path] == ["books", "audiobooks"]
        nod = next(e for e in seen.values() if e.vendor_id == "eset")
        assert "149" in nod.vat_basis
        assert nod.category_path[-1].id == nod.category_id
        kis = next(e for e in seen.values() if e.sku == "KL-KSOS-5-1Y-N")
        body = json.loads(kis.model_dump_json())
        assert body["base_price"].count(".") == 1
        assert len(body["base_price"].split(".")[1]) == 2
        assert body["required_fields"][0]["pattern"] == "^[0-9]{6}$"


async def _is_zero(value: Awaitable[int]) -> bool:
    return await value == 0
