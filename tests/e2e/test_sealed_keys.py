"""A completed order is answered from the keys the keys service sealed into its outcome: with
the keys service stopped the partner still reads them, and no plain key rests in the saga's or
the gateway's tables. An outcome without sealed keys (an older sender, another secret) is
answered by asking the keys service, as before."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from esd_platform.db import admin_connect_args
from esd_platform.delivery import DeliverySeal
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from sqlalchemy.engine import make_url

from tests.faults.harness import simple_product
from tests.support import Partner, Platform, eventually, running_platform

pytestmark = pytest.mark.integration


async def _connect(settings: PlatformSettings) -> asyncpg.Connection:
    database = make_url(settings.sqlalchemy_url).database
    return await asyncpg.connect(**{**admin_connect_args(settings), "database": database})


async def _completed_unread(
    platform: Platform, conn: asyncpg.Connection, quantity: int
) -> tuple[Partner, uuid.UUID]:
    """A partner's order, completed, that nobody has read yet (so no key was asked for)."""
    partner = await platform.new_partner()
    product = await simple_product(platform)
    body = {"external_id": uuid.uuid4().hex, "sku": product["sku"], "quantity": quantity}
    order_id = uuid.UUID((await platform.order(partner, body, wait=0))["id"])

    async def completed() -> bool:
        status = await conn.fetchval("SELECT status FROM gateway.orders WHERE id = $1", order_id)
        return bool(status == "completed")

    await eventually(completed, timeout=30)
    return partner, order_id


async def test_keys_are_read_from_the_sealed_outcome_with_the_keys_service_stopped() -> None:
    async with isolated_settings() as settings, running_platform(settings) as platform:
        conn = await _connect(settings)
        try:
            partner, order_id = await _completed_unread(platform, conn, quantity=2)
            await platform.services["keys"].stop()

            answer = await platform.client.get(
                f"/api/v1/orders/{order_id}", headers=partner.headers
            )
            assert answer.status_code == 200, answer.text
            codes = [key["activation_code"] for key in answer.json()["keys"]]
            assert len(set(codes)) == 2

            # the saga carried them and the gateway keeps them sealed, never in the clear
            saga = await conn.fetchval(
                "SELECT sealed_keys FROM orders.sagas WHERE order_id = $1", order_id
            )
            kept = await conn.fetchval(
                "SELECT sealed_keys FROM gateway.orders WHERE id = $1", order_id
            )
            assert saga
            assert kept == saga
            assert not any(code in saga for code in codes)
        finally:
            await conn.close()


async def test_an_outcome_without_sealed_keys_is_answered_by_the_keys_service() -> None:
    async with isolated_settings() as settings, running_platform(settings) as platform:
        conn = await _connect(settings)
        try:
            partner, order_id = await _completed_unread(platform, conn, quantity=1)
            # as if sealed under a secret this gateway does not hold
            other = DeliverySeal("k9:another-secret").seal(
                order_id, [(uuid.uuid4(), "NOT-THE-KEY")]
            )
            await conn.execute(
                "UPDATE gateway.orders SET sealed_keys = $2 WHERE id = $1", order_id, other
            )
        finally:
            await conn.close()
        answer = await platform.client.get(f"/api/v1/orders/{order_id}", headers=partner.headers)
        assert answer.status_code == 200, answer.text
        [key] = answer.json()["keys"]
        assert key["activation_code"] != "NOT-THE-KEY"
        assert key["activation_code"]
