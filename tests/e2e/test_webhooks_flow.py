"""Webhooks end to end: a completed order's callback is the final order as the API shows it,
keys included (the spec: "the final order is POSTed there"), signed with the partner's secret;
the gateway's table never holds an activation code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from services.gateway.tests.integration.test_webhooks import Receiver
from tests import support
from tests.support import OPS, Partner, Platform, eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()


async def test_a_completed_orders_callback_carries_its_keys_signed(
    platform: Platform, receiver: Receiver
) -> None:
    applied = await platform.client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО «Вебхук»",
            "inn": "7736207543",
            "email": "hooks@example.ru",
            "region": "Москва",
        },
    )
    approved = await platform.client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
    )
    assert approved.status_code == 200, approved.text
    secret = approved.json()["webhook_secret"]
    partner = Partner(approved.json()["partner_id"], approved.json()["api_key"])
    await platform.client.post(
        f"/api/v1/admin/partners/{partner.partner_id}/contract-signed",
        json={"number": "T-1", "date": "2026-01-01"},
        headers=OPS,
    )
    await platform.client.post(f"/api/v1/admin/partners/{partner.partner_id}/go-live", headers=OPS)
    await platform.wait_for_credit_line(partner, None)
    support.OPS_AS_ANY.update(partner.headers)
    product = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 5000
    )
    url = receiver.url("/e2e/hooks")

    order = await platform.order(
        partner,
        {"external_id": "hook-1", "sku": product["sku"], "quantity": 2, "callback_url": url},
    )
    assert order["status"] == "completed", order

    async def called() -> bool:
        return bool(receiver.calls.get("/e2e/hooks"))

    await eventually(called, timeout=30)
    [call] = receiver.calls["/e2e/hooks"]
    expected = hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-esd-signature"], f"sha256={expected}")
    assert call.headers["x-esd-event"] == "order.completed"
    body = json.loads(call.body)
    assert body["id"] == order["id"]
    assert body["status"] == "completed"
    assert sorted(k["activation_code"] for k in body["keys"]) == sorted(
        k["activation_code"] for k in order["keys"]
    )
    assert all(k["download_url"] and k["download_expires_at"] for k in body["keys"])

    conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
    try:
        stored = await conn.fetchval(
            "SELECT body FROM gateway.webhook_deliveries WHERE order_id = $1::uuid", order["id"]
        )
    finally:
        await conn.close()
    assert "activation_code" not in stored  # asked of the keys service at send time only
