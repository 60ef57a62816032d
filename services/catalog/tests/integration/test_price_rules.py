"""Price rules over request/reply; each accepted change is one PriceRuleChanged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aio_pika
import pytest
from catalog.bootstrap import build_service
from catalog.settings import CatalogSettings
from esd_contracts.catalog.commands import PriceRuleSet, SetPriceRule
from esd_contracts.catalog.events import PriceAdjustment, PriceRuleChanged
from esd_platform.messaging import topic_exchange
from esd_platform.service import Service
from esd_platform.testing import isolated_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def catalog() -> AsyncIterator[Service]:
    async with isolated_settings() as settings:
        service = build_service(settings, CatalogSettings(seed_demo=False))
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def set_rule(service: Service, **fields: object) -> PriceRuleSet:
    cmd = SetPriceRule(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), **fields)
    reply = await service.broker.request(
        cmd.model_dump_json().encode(),
        exchange=topic_exchange(cmd.exchange_name()),
        routing_key=cmd.message_type(),
        timeout=10,
        content_type="application/json",
        **cmd.envelope(),
    )
    return PriceRuleSet.model_validate_json(reply.body)


async def events(service: Service) -> list[PriceRuleChanged]:
    deadline = asyncio.get_running_loop().time() + 15
    while await service.outbox.backlog():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    connection = await aio_pika.connect(service.settings.amqp_url)
    found: list[PriceRuleChanged] = []
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("gateway.PriceRuleChanged", passive=True)
        while (message := await queue.get(no_ack=True, fail=False, timeout=2)) is not None:
            found.append(PriceRuleChanged.model_validate_json(message.body))
    finally:
        await connection.close()
    return found


class TestSetPriceRule:
    async def test_set_again_change_and_remove(self, catalog: Service) -> None:
        distributor = uuid.uuid4()
        rule = (
            PriceAdjustment(percent=Decimal("-8")),
            PriceAdjustment(percent=Decimal("-12.5"), category_id="antivirus"),
        )
        first = await set_rule(catalog, scope="distributor", owner_id=distributor, adjustments=rule)
        assert (first.accepted, first.revision) == (True, 1)
        again = await set_rule(catalog, scope="distributor", owner_id=distributor, adjustments=rule)
        assert (again.accepted, again.revision) == (True, 1)
        (event,) = await events(catalog)
        assert (event.scope, event.owner_id, event.revision) == ("distributor", distributor, 1)
        assert event.adjustments == rule

        removed = await set_rule(catalog, scope="distributor", owner_id=distributor, remove=True)
        assert removed.revision == 2
        (gone,) = await events(catalog)
        assert gone.removed
        assert gone.adjustments == ()

    async def test_a_bad_rule_is_refused_and_changes_nothing(self, catalog: Service) -> None:
        partner = uuid.uuid4()
        answer = await set_rule(
            catalog,
            scope="partner",
            owner_id=partner,
            adjustments=(
                PriceAdjustment(percent=Decimal("-5"), vendor_id="nobody"),
                PriceAdjustment(fixed_price=Decimal("100.00"), sku="NO-SUCH"),
            ),
        )
        assert not answer.accepted
        assert answer.revision == 0
        assert answer.problems == (
            "line 1: unknown vendor 'nobody'",
            "line 2: unknown sku 'NO-SUCH'",
        )
        assert await events(catalog) == []
