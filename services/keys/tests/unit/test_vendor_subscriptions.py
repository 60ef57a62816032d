"""The vendor subscription adapter against a scripted transport: the idempotency key, retries
within the budget, a refusal not retried, an unconfigured vendor."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from keys.adapters.vendor_subscriptions import VendorOutcome, VendorSubscriptions
from keys.settings import KeysSettings

Responder = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def adapter(
    responder: Responder, url: str = "http://vendor.test"
) -> tuple[VendorSubscriptions, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responder(request)

    time = FakeTime()
    config = KeysSettings(
        vendor_api_url=url,
        vendor_retry_budget=5.0,
        vendor_max_attempts=3,
        vendor_backoff_base=0.1,
        vendor_backoff_cap=0.2,
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return (
        VendorSubscriptions(
            config, client, sleep=time.sleep, jitter=lambda: 1.0, monotonic=time.monotonic
        ),
        seen,
    )


async def test_provision_sends_the_change_id_as_idempotency_key_and_returns_the_tenant() -> None:
    vendor, seen = adapter(lambda _: httpx.Response(200, json={"tenant_id": "T-1"}))
    outcome = await vendor.provision("ms", "change-1", "sub-1", "M365", 3)
    assert outcome == VendorOutcome(tenant_id="T-1")
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/v1/subscriptions")
    assert request.headers["Idempotency-Key"] == "change-1"
    assert json.loads(request.content) == {"subscription_id": "sub-1", "sku": "M365", "quantity": 3}


async def test_a_transient_failure_is_retried_with_the_same_key() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"tenant_id": "T-1"})])
    vendor, seen = adapter(lambda _: next(answers))
    outcome = await vendor.update("ms", "change-2", "T-1", 5, "suspended")
    assert outcome == VendorOutcome(tenant_id="T-1")
    assert [r.headers["Idempotency-Key"] for r in seen] == ["change-2", "change-2"]
    assert (seen[0].method, seen[0].url.path) == ("PUT", "/v1/subscriptions/T-1")


async def test_a_vendor_that_stays_down_is_unavailable_after_the_attempts() -> None:
    vendor, seen = adapter(lambda _: httpx.Response(503))
    assert await vendor.update("ms", "c", "T-1", 5, "active") == VendorOutcome(
        reason="vendor_unavailable"
    )
    assert len(seen) == 3


async def test_a_refusal_is_not_retried() -> None:
    vendor, seen = adapter(lambda _: httpx.Response(409, json={"error": "cancelled"}))
    assert await vendor.update("ms", "c", "T-1", 5, "active") == VendorOutcome(
        reason="vendor_refused"
    )
    assert len(seen) == 1


async def test_a_malformed_answer_is_a_failure_and_no_vendor_no_call() -> None:
    vendor, _ = adapter(lambda _: httpx.Response(200, json={"nothing": 1}))
    assert (await vendor.provision("ms", "c", "s", "X", 1)).reason == "vendor_unavailable"
    unconfigured, seen = adapter(lambda _: httpx.Response(200), url="")
    assert (await unconfigured.provision("ms", "c", "s", "X", 1)).reason == "vendor_unavailable"
    assert seen == []
