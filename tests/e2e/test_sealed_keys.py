"""A completed order is answered from the keys the keys service sealed into its outcome: with
the keys service stopped the partner still reads them, and no plain key rests in the saga's or
the gateway's tables. An outcome without sealed keys (an older sender, another secret) is
answered by asking the keys service, as before."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
import pytest
from esd_platform.db import admin_connect_args
from esd_platform.delivery import DeliverySeal
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from sqlalchemy.engine import make_url

from tests.support import eventually, running_platform

pytestmark = pytest.mark.integration


async def _connect(settings: PlatformSettings) -> asyncpg.Connection:
    database = make_url(settings.sqlalchemy_url).database
    return await asyncpg.connect(**{**admin_connect_args(settings), "database": database})


async def test_keys_are_read_from_the_sealed_outcome_with_the_keys_service_stopped() -> None:
    async with isolated_settings() as settings, running_platform(settings) as platform:
        partner = await platform.new_partner()
        product = await platform.product(
            lambda p: (
                p["kind"] == "key"
                and p.get("key_source", "generator") == "generator"
                and not p["required_fields"]
                and Decimal(p["price"]) < 1000
            )
        )
        placed = await platform.order(
            partner,
            {"external_id": uuid.uuid4().hex, "sku": product["sku"], "quantity": 2},
            wait=0,  # read nothing yet: no key may come from the keys service before it stops
        )
        conn = await _connect(settings)
        try:

            async def final() -> bool:
                status = await conn.fetchval(
                    "SELECT status FROM gateway.orders WHERE id = $1", uuid.UUID(placed["id"])
                )
                return bool(status == "completed")

            await eventually(final, timeout=30)
            await platform.services["keys"].stop()

            answer = await platform.client.get(
                f"/api/v1/orders/{placed['id']}", headers=partner.headers
            )
            assert answer.status_code == 200, answer.text
            codes = [key["activation_code"] for key in answer.json()["keys"]]
            assert len(set(codes)) == 2

            # the saga carried them and the gateway keeps them sealed, never in the clear
            saga = await conn.fetchval(
                "SELECT sealed_keys FROM orders.sagas WHERE order_id = $1",
                uuid.UUID(placed["id"]),
            )
            kept = await conn.fetchval(
                "SELECT sealed_keys FROM gateway.orders WHERE id = $1", uuid.UUID(placed["id"])
            )
            assert saga
            assert kept == saga
            assert not any(code in saga for code in codes)
        finally:
            await conn.close()


async def test_an_outcome_without_sealed_keys_is_answered_by_the_keys_service() -> None:
    async with isolated_settings() as settings, running_platform(settings) as platform:
        partner = await platform.new_partner()
        product = await platform.product(
            lambda p: (
                p["kind"] == "key"
                and p.get("key_source", "generator") == "generator"
                and not p["required_fields"]
                and Decimal(p["price"]) < 1000
            )
        )
        placed = await platform.order(
            partner,
            {"external_id": uuid.uuid4().hex, "sku": product["sku"], "quantity": 1},
            wait=0,
        )
        conn = await _connect(settings)
        try:

            async def final() -> bool:
                status = await conn.fetchval(
                    "SELECT status FROM gateway.orders WHERE id = $1", uuid.UUID(placed["id"])
                )
                return bool(status == "completed")

            await eventually(final, timeout=30)
            # as if sealed under a secret this gateway does not hold
            other = DeliverySeal("k9:another-secret").seal(
                uuid.UUID(placed["id"]), [(uuid.uuid4(), "NOT-THE-KEY")]
            )
            await conn.execute(
                "UPDATE gateway.orders SET sealed_keys = $2 WHERE id = $1",
                uuid.UUID(placed["id"]),
                other,
            )
        finally:
            await conn.close()
        answer = await platform.client.get(
            f"/api/v1/orders/{placed['id']}", headers=partner.headers
        )
        assert answer.status_code == 200, answer.text
        [key] = answer.json()["keys"]
        assert key["activation_code"] != "NOT-THE-KEY"
        assert key["activation_code"]
