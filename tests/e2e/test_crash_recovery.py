"""A service killed (SIGKILL) mid-saga and started again: every order still completes, once."""

from __future__ import annotations

import asyncio
import signal
import uuid
from decimal import Decimal

import pytest
from esd_platform.testing import isolated_settings

from tests.support import Platform, running_platform, service_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("victim", ["credit", "orders"])
async def test_killed_service_restarts_and_every_order_completes_once(victim: str) -> None:
    async with isolated_settings() as settings:
        process = service_process(victim, settings)
        try:
            async with running_platform(settings, exclude=(victim,)) as platform:
                await run_orders_through_a_crash(platform, victim, settings, process)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


async def run_orders_through_a_crash(platform: Platform, victim: str, settings, process) -> None:  # type: ignore[no-untyped-def]
    partner = await platform.new_partner()
    product = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 1000
    )
    answers = []
    for index in range(30):
        answers.append(
            await platform.client.post(
                "/api/v1/orders",
                json={
                    "external_id": f"crash-{index}-{uuid.uuid4().hex[:6]}",
                    "sku": product["sku"],
                    "quantity": 1,
                },
                headers=partner.headers,
            )
        )
        if index == 10:
            process.send_signal(signal.SIGKILL)  # mid-load, with messages in flight
            process.wait(timeout=10)
    await asyncio.sleep(1.0)
    restarted = service_process(victim, settings)
    try:
        finals = await asyncio.gather(
            *(platform.final_order(partner, a.json()["id"], timeout=120) for a in answers)
        )
        assert [f["status"] for f in finals] == ["completed"] * 30
        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == Decimal(product["price"]) * 30
        assert Decimal(balance["reserved"]) == 0
        documents = (await platform.client.get("/api/v1/documents", headers=partner.headers)).json()
        documents = documents if isinstance(documents, list) else documents["items"]
        lines = [line["order_id"] for d in documents for line in d["lines"]]
        assert sorted(lines) == sorted(f["id"] for f in finals)  # billed once each
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
