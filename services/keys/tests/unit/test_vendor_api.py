"""The vendor API adapter against a scripted transport: retries, budget, breaker, idempotency."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
from keys.adapters.crypto import KeyCipher, KeyHasher
from keys.adapters.sources import Sealer
from keys.adapters.vendor_api import VendorApiKeys
from keys.domain.model import KeyRequest, Refusal
from keys.settings import KeysSettings


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


Responder = Callable[[httpx.Request], httpx.Response]


def adapter(
    responder: Responder, time: FakeTime, **settings: object
) -> tuple[VendorApiKeys, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responder(request)

    config = KeysSettings(
        **{
            "vendor_api_url": "http://vendor.test",
            "vendor_retry_budget": 5.0,
            "vendor_max_attempts": 4,
            "vendor_breaker_failures": 10,
            **settings,
        },  # type: ignore[arg-type]
    )
    vendor = VendorApiKeys(
        Sealer(KeyCipher("k1:s"), KeyHasher("h")),
        config,
        client=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
        monotonic=time.monotonic,
        sleep=time.sleep,
        jitter=lambda: 1.0,
    )
    return vendor, seen


def request(quantity: int = 2, vendor: str = "Acme") -> KeyRequest:
    return KeyRequest(uuid.uuid4(), uuid.uuid4(), "SKU-1", quantity, "vendor_api", vendor)


def keys(n: int) -> httpx.Response:
    return httpx.Response(200, json={"keys": [f"V-{i}" for i in range(n)]})


class TestVendorApiKeys:
    async def test_sends_the_order_id_as_idempotency_key(self) -> None:
        vendor, seen = adapter(lambda r: keys(2), FakeTime())
        req = request()
        assert await vendor.prepare(req) == ["V-0", "V-1"]
        assert seen[0].headers["Idempotency-Key"] == str(req.order_id)
        assert json.loads(seen[0].content) == {
            "order_id": str(req.order_id),
            "sku": "SKU-1",
            "quantity": 2,
        }

    async def test_retries_transient_failures_with_growing_delays(self) -> None:
        answers = iter([httpx.Response(503), httpx.Response(502), keys(2)])
        time = FakeTime()
        vendor, seen = adapter(lambda r: next(answers), time)
        assert await vendor.prepare(request()) == ["V-0", "V-1"]
        assert len(seen) == 3
        assert time.slept == [0.1, 0.2]

    async def test_retries_a_timeout_with_the_same_idempotency_key(self) -> None:
        calls = {"n": 0}

        def responder(r: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            if calls["n"] == 1:
                raise httpx.ReadTimeout("lost", request=r)
            return keys(1)

        vendor, seen = adapter(responder, FakeTime())
        assert await vendor.prepare(request(1)) == ["V-0"]
        assert {r.headers["Idempotency-Key"] for r in seen} == {seen[0].headers["Idempotency-Key"]}

    async def test_gives_up_vendor_unavailable_after_the_attempts(self) -> None:
        vendor, seen = adapter(lambda r: httpx.Response(503), FakeTime())
        assert await vendor.prepare(request()) == Refusal("vendor_unavailable")
        assert len(seen) == 4

    async def test_stays_within_the_retry_budget(self) -> None:
        time = FakeTime()
        vendor, seen = adapter(
            lambda r: httpx.Response(503), time, vendor_retry_budget=0.25, vendor_max_attempts=10
        )
        assert await vendor.prepare(request()) == Refusal("vendor_unavailable")
        assert time.now < 0.25
        assert len(seen) == 2  # 0.1 s wait fits, the next 0.2 s would pass the budget

    async def test_vendor_out_of_stock_is_a_refusal_without_retry(self) -> None:
        vendor, seen = adapter(
            lambda r: httpx.Response(409, json={"error": "out_of_stock"}), FakeTime()
        )
        assert await vendor.prepare(request()) == Refusal("out_of_stock")
        assert len(seen) == 1

    async def test_bad_request_is_not_retried(self) -> None:
        vendor, seen = adapter(lambda r: httpx.Response(400), FakeTime())
        assert await vendor.prepare(request()) == Refusal("vendor_unavailable")
        assert len(seen) == 1

    async def test_wrong_number_of_keys_is_retried(self) -> None:
        answers = iter([keys(1), keys(2)])
        vendor, seen = adapter(lambda r: next(answers), FakeTime())
        assert await vendor.prepare(request(2)) == ["V-0", "V-1"]
        assert len(seen) == 2

    async def test_duplicate_keys_in_an_answer_are_refused(self) -> None:
        dup = httpx.Response(200, json={"keys": ["SAME", "SAME"]})
        vendor, _ = adapter(lambda r: dup, FakeTime(), vendor_max_attempts=2)
        assert await vendor.prepare(request(2)) == Refusal("vendor_unavailable")

    async def test_open_circuit_refuses_without_calling(self) -> None:
        time = FakeTime()
        vendor, seen = adapter(
            lambda r: httpx.Response(503), time, vendor_breaker_failures=3, vendor_max_attempts=2
        )
        await vendor.prepare(request())  # 2 failures
        await vendor.prepare(request())  # 3rd failure opens the circuit, then refused
        calls = len(seen)
        assert vendor.breaker("Acme").state(time.now) == "open"
        assert await vendor.prepare(request()) == Refusal("vendor_unavailable")
        assert len(seen) == calls

    async def test_breakers_are_per_vendor(self) -> None:
        time = FakeTime()

        def responder(r: httpx.Request) -> httpx.Response:
            return httpx.Response(503) if "acme" in str(r.url) else keys(2)

        vendor, _ = adapter(
            responder,
            time,
            vendor_breaker_failures=1,
            vendor_api_urls={"Acme": "http://acme.test"},
        )
        await vendor.prepare(request(vendor="Acme"))
        assert vendor.breaker("Acme").state(time.now) == "open"
        assert await vendor.prepare(request(vendor="Other")) == ["V-0", "V-1"]

    async def test_no_configured_vendor_is_unavailable(self) -> None:
        vendor, seen = adapter(lambda r: keys(1), FakeTime(), vendor_api_url="")
        assert await vendor.prepare(request()) == Refusal("vendor_unavailable")
        assert seen == []
