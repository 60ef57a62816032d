"""kill -9 of the keys and billing workers mid-load (credit and orders: tests/e2e/
test_crash_recovery.py): after a restart every accepted order completes, no key is issued
twice, no order is billed twice, the credit ledger balances and no outbox holds a message."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from esd_platform.db import admin_connect_args
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings
from sqlalchemy.engine import make_url

from tests.support import Platform, eventually, running_platform, service_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 24
KILL_AT = 8
SCHEMAS = ("catalog", "orders", "credit", "keys", "billing", "gateway")


async def outbox_rows(settings: PlatformSettings) -> dict[str, int]:
    url = make_url(settings.sqlalchemy_url)
    args = {**admin_connect_args(settings), "database": url.database}
    connection = await asyncpg.connect(**args)
    try:
        counts = {}
        for schema in SCHEMAS:
            counts[schema] = await connection.fetchval(f'SELECT count(*) FROM "{schema}".outbox')
        return counts
    finally:
        await connection.close()


@pytest.mark.parametrize("victim", ["keys", "billing"])
async def test_killed_worker_restarts_and_every_order_completes_once(victim: str) -> None:
    async with isolated_settings() as settings:
        process = service_process(victim, settings)
        restarted: subprocess.Popen[bytes] | None = None
        try:
            async with running_platform(settings, exclude=(victim,)) as platform:
                restarted = await load_through_a_kill(platform, victim, settings, process)
                await check_invariants(platform, settings)
        finally:
            for p in (process, restarted):
                if p is not None and p.poll() is None:
                    p.terminate()
                    p.wait(timeout=30)


async def load_through_a_kill(
    platform: Platform,
    victim: str,
    settings: PlatformSettings,
    process: subprocess.Popen[bytes],
) -> subprocess.Popen[bytes]:
    partner = await platform.new_partner()
    product = await platform.product(
        lambda p: (
            p["kind"] == "key"
            and p.get("key_source", "generator") == "generator"
            and not p["required_fields"]
            and Decimal(p["price"]) < 1000
        )
    )
    platform.partner, platform.product_under_test = partner, product  # type: ignore[attr-defined]
    answers = []
    for index in range(ORDERS):
        answer = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": f"kill-{index}-{uuid.uuid4().hex[:6]}", "sku": product["sku"]}
            | {"quantity": 1},
            headers=partner.headers,
        )
        assert answer.status_code in (200, 201, 202), answer.text
        answers.append(answer.json()["id"])
        if index == KILL_AT:
            process.send_signal(signal.SIGKILL)  # mid-load, with messages in flight
            process.wait(timeout=10)
    platform.order_ids = answers  # type: ignore[attr-defined]
    await asyncio.sleep(1.0)
    return service_process(victim, settings)


async def check_invariants(platform: Platform, settings: PlatformSettings) -> None:
    partner = platform.partner  # type: ignore[attr-defined]
    product: dict[str, Any] = platform.product_under_test  # type: ignore[attr-defined]
    order_ids: list[str] = platform.order_ids  # type: ignore[attr-defined]
    try:
        finals = await asyncio.gather(
            *(platform.final_order(partner, order_id, timeout=120) for order_id in order_ids)
        )
    except AssertionError:
        statuses = []
        for order_id in order_ids:
            answer = await platform.client.get(
                f"/api/v1/orders/{order_id}", headers=partner.headers
            )
            statuses.append(answer.json().get("status"))
        raise AssertionError(f"orders not final 120 s after the restart: {statuses}") from None
    assert [f["status"] for f in finals] == ["completed"] * ORDERS
    codes = [k["activation_code"] for f in finals for k in f["keys"]]
    assert len(codes) == ORDERS
    assert len(set(codes)) == ORDERS, "a key was issued twice"

    balance = await platform.balance(partner)
    assert Decimal(balance["debt"]) == Decimal(product["price"]) * ORDERS
    assert Decimal(balance["reserved"]) == 0
    assert Decimal(balance["available"]) == Decimal(balance["limit"]) - Decimal(balance["debt"])

    documents = (await platform.client.get("/api/v1/documents", headers=partner.headers)).json()
    documents = documents if isinstance(documents, list) else documents["items"]
    lines = [line["order_id"] for d in documents for line in d["lines"]]
    assert sorted(lines) == sorted(order_ids), "an order was billed twice or not at all"

    async def outboxes_empty() -> bool:
        return not any((await outbox_rows(settings)).values())

    await eventually(outboxes_empty, timeout=30)
