"""`make run` stocks the demo catalog's pool products with demo keys, once, over real HTTP."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from esd_cli.launcher import stock_demo_pools

from tests.support import OPS, OPS_TOKEN, Platform, serving

pytestmark = pytest.mark.integration

KEYS_EACH = 3


async def test_every_pool_is_stocked_once_and_a_pool_order_ships(platform: Platform) -> None:
    pools = await platform.skus_from("pool")
    product = await platform.product(
        lambda p: p["sku"] in pools and not p["required_fields"] and Decimal(p["price"]) < 5000,
        key_source=None,
    )
    sku = product["sku"]
    partner = await platform.new_partner()
    before = await platform.order(
        partner, {"external_id": f"pool-{uuid.uuid4().hex}", "sku": sku, "quantity": 1}
    )
    assert (before["status"], before["reason"]) == ("rejected", "out_of_stock"), before

    async with serving(platform) as base:
        # make run stopped before it got to the pools: nothing loaded
        stopped = await asyncio.to_thread(
            stock_demo_pools, base, OPS_TOKEN, KEYS_EACH, lambda: True
        )
        assert stopped == 0

        loaded = await asyncio.to_thread(stock_demo_pools, base, OPS_TOKEN, KEYS_EACH)
        assert loaded == len(pools) > 0  # every pool sku the catalog holds, no other

        order = await platform.order(
            partner,
            {"external_id": f"pool-{uuid.uuid4().hex}", "sku": sku, "quantity": KEYS_EACH},
        )
        assert order["status"] == "completed", order
        codes = {key["activation_code"] for key in order["keys"]}
        assert len(codes) == KEYS_EACH
        assert all(code.startswith("DEMO-") for code in codes)

        # a second run loads nothing: a pool with keys, or emptied by orders, is left alone
        assert await asyncio.to_thread(stock_demo_pools, base, OPS_TOKEN, KEYS_EACH) == 0
    stock = await platform.client.get("/api/v1/admin/keys/stock", params={"sku": sku}, headers=OPS)
    assert [(i["available"], i["issued"]) for i in stock.json()["items"]] == [(0, KEYS_EACH)]
