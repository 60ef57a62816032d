"""Many orders racing for one credit line: the debt never passes the limit, every order ends."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from tests.support import FINAL, Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_100_concurrent_orders_never_exceed_the_limit(platform: Platform) -> None:
    product = await platform.product(
        lambda p: (
            p["kind"] == "key"
            and not p["required_fields"]
            and Decimal("500") <= Decimal(p["price"]) <= Decimal("3000")
        )
    )
    price = Decimal(product["price"])
    limit = (price * 10).quantize(Decimal("0.01"))  # room for exactly ten of the hundred
    partner = await platform.new_partner(limit=f"{limit:.2f}")

    answers = await asyncio.gather(
        *(
            platform.client.post(
                "/api/v1/orders",
                json={
                    "external_id": f"race-{uuid.uuid4().hex[:10]}",
                    "sku": product["sku"],
                    "quantity": 1,
                },
                headers=partner.headers,
            )
            for _ in range(100)
        )
    )
    assert all(a.status_code == 202 for a in answers), {a.status_code for a in answers}
    finals = await asyncio.gather(
        *(platform.final_order(partner, a.json()["id"], timeout=90) for a in answers)
    )
    statuses = [f["status"] for f in finals]
    assert set(statuses) <= FINAL
    completed = statuses.count("completed")
    assert completed == 10
    assert {f["reason"] for f in finals if f["status"] == "rejected"} <= {"credit_limit_exceeded"}

    balance = await platform.balance(partner)
    assert Decimal(balance["debt"]) == price * completed
    assert Decimal(balance["debt"]) <= limit
    assert Decimal(balance["reserved"]) == 0
