"""The embedded run (no RabbitMQ): every service in one process on the in-memory broker.

The settings point the broker at a port where nothing listens, so anything that tried the
network would fail; the order still goes through the whole saga and comes back completed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import cast

import pytest
from esd_cli import embedded
from esd_cli.services import migrate_all
from esd_platform.testing import isolated_settings
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client
from litestar import Litestar

from tests import support
from tests.support import OPS_TOKEN, Platform

pytestmark = pytest.mark.integration

NO_BROKER = "amqp://guest:guest@127.0.0.1:1/"


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with isolated_settings() as base:
        settings = base.model_copy(update={"amqp_url": NO_BROKER})
        services, server, _, memory = embedded.build(
            settings, GatewaySettings(ops_token=OPS_TOKEN, query_timeout=5.0)
        )
        await migrate_all(settings)
        async with memory:
            for service in services:
                await service.start(broker_running=True)
            try:
                async with in_loop_client(cast(Litestar, server.config.app)) as client:
                    yield Platform(client, settings, {s.name: s for s in services})
            finally:
                for service in reversed(services):
                    await service.stop()


async def test_an_order_completes_with_keys_debt_and_a_document_line(platform: Platform) -> None:
    partner = await platform.new_partner()
    support.OPS_AS_ANY.update(partner.headers)
    # one event loop carries every service: the catalog seed's events first, then the order
    await platform.catalog_settled()
    product = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 5000
    )

    order = await platform.order(
        partner, {"external_id": "embedded-1", "sku": product["sku"], "quantity": 2}
    )

    assert order["status"] == "completed", order
    assert len({key["activation_code"] for key in order["keys"]}) == 2
    balance = await platform.balance(partner)
    assert Decimal(balance["debt"]) == Decimal(product["price"]) * 2
    documents = await platform.client.get("/api/v1/documents", headers=partner.headers)
    lines = [line for d in documents.json()["items"] for line in d["lines"]]
    assert [line["order_id"] for line in lines] == [order["id"]]


async def test_ready_without_a_broker_on_the_network(platform: Platform) -> None:
    answer = await platform.client.get("/ready")
    assert answer.status_code == 200, answer.text
