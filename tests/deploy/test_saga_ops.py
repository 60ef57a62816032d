"""A saga that ends is timed by outcome (esd_saga_duration_seconds) and its history is shown
by `esd saga <order id>`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from esd_cli import ops
from esd_contracts.credit.events import CreditRefused
from esd_contracts.orders.commands import PlaceOrder
from esd_platform.observability import SAGA_DURATION
from esd_platform.testing import isolated_settings, publish, wait_for
from orders.bootstrap import build_service

pytestmark = pytest.mark.integration


def rejected_count() -> float:
    for metric in SAGA_DURATION.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels.get("outcome") == "rejected":
                return sample.value
    return 0.0


async def test_a_rejected_saga_is_timed_and_its_history_shown() -> None:
    async with isolated_settings() as settings:
        service = build_service(settings)
        await service.start()
        try:
            order_id, partner_id = uuid.uuid4(), uuid.uuid4()
            now = datetime.now(UTC)
            before = rejected_count()
            await publish(
                service.broker,
                PlaceOrder(
                    correlation_id=order_id,
                    occurred_at=now,
                    order_id=order_id,
                    partner_id=partner_id,
                    partner_live=True,
                    external_id="shop-ops-1",
                    sku="KIS-2Y",
                    name="Kaspersky",
                    quantity=1,
                    unit_price=Decimal("1500.00"),
                    amount=Decimal("1500.00"),
                    vat_rate="exempt",
                    vat_amount=Decimal("0.00"),
                    test=False,
                    key_source="generator",
                ),
            )

            async def accepted() -> bool:
                try:
                    await ops.saga_history(settings, order_id)
                except ops.OpsError:
                    return False
                return True

            await wait_for(accepted, what="the saga started")
            await publish(
                service.broker,
                CreditRefused(
                    correlation_id=order_id,
                    occurred_at=datetime.now(UTC),
                    order_id=order_id,
                    partner_id=partner_id,
                    reason="credit_limit_exceeded",
                ),
            )

            async def rejected() -> bool:
                shown = await ops.saga_history(settings, order_id)
                return bool(shown["saga"]["state"] == "rejected")

            await wait_for(rejected, what="the saga rejected")
            shown = await ops.saga_history(settings, order_id)
            assert shown["saga"]["reason"] == "credit_limit_exceeded"
            causes = [step["cause"] for step in shown["history"]]
            assert causes[0] == "PlaceOrder"
            assert causes[-1] == "CreditRefused"
            assert shown["history"][-1]["state"] == "rejected"
            assert rejected_count() == before + 1

            with pytest.raises(ops.OpsError) as missing:
                await ops.saga_history(settings, uuid.uuid4())
            assert missing.value.code == 2
        finally:
            await service.stop()
