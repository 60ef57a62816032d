"""The vendor API adapter against the vendor stub (a real HTTP server in a subprocess): slow,
failing and timing-out vendors, the breaker opening and closing, one set per order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from esd_contracts.keys.queries import GetVendorHealth, VendorHealth
from esd_platform.testing import wait_for

from .conftest import Harness, VendorStub, issue_keys, running_harness

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def vendor_harness(vendor_stub: VendorStub) -> AsyncIterator[Harness]:
    async with running_harness(
        vendor_api_url=vendor_stub.url,
        vendor_timeout=0.5,
        vendor_retry_budget=3.0,
        vendor_max_attempts=4,
        vendor_backoff_base=0.05,
        vendor_backoff_cap=0.2,
        vendor_breaker_failures=4,
        vendor_breaker_reset=1.0,
    ) as h:
        yield h


@pytest.fixture
async def stub(vendor_stub: VendorStub, vendor_harness: Harness) -> AsyncIterator[VendorStub]:
    await vendor_stub.reset()
    yield vendor_stub
    await vendor_stub.reset()


async def order(h: Harness, quantity: int = 2, vendor: str = "Acme") -> tuple[str, dict]:  # type: ignore[type-arg]
    cmd = issue_keys(sku="VEND-1", quantity=quantity, key_source="vendor_api", vendor=vendor)
    await h.publish(cmd)
    [(kind, body)] = await h.outcome(cmd.order_id)
    body["partner"] = cmd.partner_id
    return kind, body


async def health(h: Harness) -> VendorHealth:
    query = GetVendorHealth(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC))
    return await h.query(query, VendorHealth)


class TestVendorApi:
    async def test_issues_the_vendors_keys(self, vendor_harness: Harness, stub: VendorStub) -> None:
        kind, body = await order(vendor_harness, quantity=3)
        assert kind == "KeysIssued"
        answer = await vendor_harness.order_keys(uuid.UUID(body["order_id"]), body["partner"])
        assert len(answer.keys) == 3
        assert all(len(k.activation_code) == 29 for k in answer.keys)
        stats = await stub.stats()
        assert (stats["sets_issued"], stats["keys_issued"]) == (1, 3)

    async def test_slow_vendor_within_the_timeout_delivers(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(latency_ms=200)
        kind, _ = await order(vendor_harness)
        assert kind == "KeysIssued"

    async def test_failing_vendor_is_retried_until_it_answers(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(fail_next=2)
        kind, _ = await order(vendor_harness)
        assert kind == "KeysIssued"
        stats = await stub.stats()
        assert (stats["requests"], stats["sets_issued"]) == (3, 1)

    async def test_retry_after_a_lost_answer_yields_one_set(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(timeout_next=1, hang_seconds=2)  # issues, then the answer times out
        kind, body = await order(vendor_harness, quantity=2)
        assert kind == "KeysIssued"
        stats = await stub.stats()
        assert stats["sets_issued"] == 1
        assert stats["repeated"] == 1
        [(stored,)] = await vendor_harness.sql(
            "SELECT count(*) FROM issued_key WHERE order_id = :o", o=uuid.UUID(body["order_id"])
        )
        assert stored == 2

    async def test_vendor_down_past_the_budget_fails_vendor_unavailable(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(mode="timeout", hang_seconds=5)
        started = asyncio.get_running_loop().time()
        kind, body = await order(vendor_harness, vendor="Slowco")
        assert (kind, body["reason"]) == ("KeysFailed", "vendor_unavailable")
        assert asyncio.get_running_loop().time() - started < 6  # bounded by the 3 s budget
        assert (
            await vendor_harness.order_keys(uuid.UUID(body["order_id"]), body["partner"])
        ).keys == ()

    async def test_vendor_out_of_stock_fails_out_of_stock(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(mode="out_of_stock")
        kind, body = await order(vendor_harness, vendor="Emptyco")
        assert (kind, body["reason"]) == ("KeysFailed", "out_of_stock")

    async def test_breaker_opens_fails_fast_and_closes_again(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        await stub.control(mode="fail")
        kind, _ = await order(vendor_harness, vendor="Flaky")  # 4 failures open the circuit
        assert kind == "KeysFailed"
        requests_when_opened = (await stub.stats())["requests"]
        kind, body = await order(vendor_harness, vendor="Flaky")
        assert (kind, body["reason"]) == ("KeysFailed", "vendor_unavailable")
        assert (await stub.stats())["requests"] == requests_when_opened  # refused without a call
        [flaky] = [v for v in (await health(vendor_harness)).vendors if v.vendor == "Flaky"]
        assert flaky.circuit == "open"
        assert flaky.error_rate == 1.0
        await stub.control(mode="ok")
        await asyncio.sleep(1.1)  # the breaker's reset time: the next call is the trial
        kind, _ = await order(vendor_harness, vendor="Flaky")
        assert kind == "KeysIssued"

        async def closed() -> bool:
            items = (await health(vendor_harness)).vendors
            return any(v.vendor == "Flaky" and v.circuit == "closed" for v in items)

        await wait_for(closed, what="circuit closed in the health view")

    async def test_test_orders_never_call_the_vendor(
        self, vendor_harness: Harness, stub: VendorStub
    ) -> None:
        cmd = issue_keys(sku="VEND-1", quantity=2, key_source="vendor_api", test=True)
        await vendor_harness.publish(cmd)
        [(kind, _)] = await vendor_harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        assert (await stub.stats())["requests"] == 0
