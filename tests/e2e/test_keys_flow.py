"""Keys end to end through the gateway (issue #5): pools loaded by ops with a duplicate report,
stock and thresholds, all-or-nothing on short stock, a vendor that fails, times out, loses an
answer and comes back, the vendor health view, and counted download links.

The keys service calls a real vendor stub (``python -m deploy.vendor_stub`` in a subprocess)
with a short retry budget and a breaker that opens after three failures.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from esd_platform.testing import isolated_settings
from keys.adapters.crypto import KeySigner, load_public_key, verify_key
from keys.settings import KeysSettings

from tests.support import OPS, Partner, Platform, eventually, running_platform

ROOT = Path(__file__).resolve().parents[2]
BREAKER_RESET = 3.0
RICH = "100000000.00"  # pool products include server licences: credit never limits these tests

pytestmark = pytest.mark.timeout(300)


class VendorStub:
    """The vendor stub in its own process, steered over its control API."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        # no idle connections kept: the stub (uvicorn) closes one after 5 s idle, and a control
        # call sent on it as it closes fails with "Server disconnected without sending a response"
        self.client = httpx.AsyncClient(
            base_url=self.url, timeout=5, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.vendor_stub", "--port", str(self.port), cwd=ROOT
        )

        async def up() -> bool:
            try:
                return (await self.client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up)

    async def stop(self) -> None:
        await self.client.aclose()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    async def control(self, **behaviour: Any) -> None:
        (await self.client.post("/control", json=behaviour)).raise_for_status()

    async def reset(self) -> None:
        (await self.client.post("/control/reset")).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        return dict((await self.client.get("/control")).json()["stats"])


@pytest.fixture(scope="module")
async def stub() -> AsyncIterator[VendorStub]:
    vendor = VendorStub()
    await vendor.start()
    try:
        yield vendor
    finally:
        await vendor.stop()


@pytest.fixture(scope="module")
async def platform(stub: VendorStub) -> AsyncIterator[Platform]:
    """The whole platform, its keys service pointed at the stub with short budgets."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "ESD_VENDOR_API_URL": stub.url,
            "ESD_VENDOR_TIMEOUT": "0.5",
            "ESD_VENDOR_RETRY_BUDGET": "2.0",
            "ESD_VENDOR_MAX_ATTEMPTS": "3",
            "ESD_VENDOR_BACKOFF_BASE": "0.05",
            "ESD_VENDOR_BACKOFF_CAP": "0.2",
            "ESD_VENDOR_BREAKER_FAILURES": "3",
            "ESD_VENDOR_BREAKER_RESET": str(BREAKER_RESET),
        }.items():
            env.setenv(name, value)
        async with isolated_settings() as settings, running_platform(settings) as running:
            yield running


@pytest.fixture
async def vendor(stub: VendorStub) -> AsyncIterator[VendorStub]:
    await stub.reset()
    yield stub
    await stub.reset()


_taken: set[str] = set()


async def pool_sku(platform: Platform) -> str:
    """A pool product no other test of this module uses (pools are per sku)."""
    product = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and p["sku"] not in _taken,
        key_source="pool",
    )
    _taken.add(product["sku"])
    return str(product["sku"])


async def vendor_product(platform: Platform) -> dict[str, Any]:
    return await platform.product(lambda p: p["kind"] == "key", key_source="vendor_api")


def fields_for(product: dict[str, Any]) -> dict[str, str]:
    values = {"customer_inn": "7707083893"}
    return {f["name"]: values.get(f["name"], "123456") for f in product["required_fields"]}


def ext() -> str:
    return f"keys-{uuid.uuid4().hex[:12]}"


def fresh_keys(n: int) -> list[str]:
    return [f"POOL-{uuid.uuid4().hex.upper()}" for _ in range(n)]


async def load(platform: Platform, sku: str, content: bytes, content_type: str) -> httpx.Response:
    return await platform.client.post(
        f"/api/v1/admin/keys/{sku}/pool",
        content=content,
        headers={**OPS, "Content-Type": content_type},
    )


async def stock(platform: Platform, sku: str) -> dict[str, Any] | None:
    answer = await platform.client.get("/api/v1/admin/keys/stock", params={"sku": sku}, headers=OPS)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert all(i["sku"] == sku for i in items)
    return items[0] if items else None


async def vendor_health(platform: Platform, name: str) -> dict[str, Any] | None:
    answer = await platform.client.get("/api/v1/admin/keys/vendors", headers=OPS)
    assert answer.status_code == 200, answer.text
    return next((v for v in answer.json()["vendors"] if v["vendor"] == name), None)


async def placed(platform: Platform, partner: Partner, body: dict[str, Any]) -> dict[str, Any]:
    """Place an order and wait until it is final (this shared machine can be slow)."""
    order = await platform.order(partner, body)
    return await platform.final_order(partner, order["id"], timeout=60)


async def assert_nothing_charged(platform: Platform, partner: Partner) -> None:
    balance = await platform.balance(partner)
    assert Decimal(balance["reserved"]) == 0
    assert Decimal(balance["debt"]) == 0


class TestPoolAdmin:
    async def test_text_file_loads_and_reports_duplicates_by_line(self, platform: Platform) -> None:
        sku = await pool_sku(platform)
        a, b, c, d = fresh_keys(4)
        text_file = f"\ufeff{a}\r\n{b}\n\n  {b}  \n{c}\n".encode()
        answer = await load(platform, sku, text_file, "text/plain; charset=utf-8")
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["sku"], report["submitted"], report["loaded"]) == (sku, 4, 3)
        assert report["refused"] == [{"line": 4, "reason": "duplicate_in_request"}]
        assert report["available"] == 3
        # the same keys again, as JSON: loaded once, refused as already loaded
        again = await load(platform, sku, f'["{a}", "{d}", " "]'.encode(), "application/json")
        assert again.status_code == 200, again.text
        assert again.json()["loaded"] == 1
        assert again.json()["refused"] == [
            {"line": 1, "reason": "already_loaded"},
            {"line": 3, "reason": "empty"},
        ]
        assert await stock(platform, sku) == {
            "sku": sku,
            "available": 4,
            "issued": 0,
            "low_threshold": again.json()["low_threshold"],
            "low": again.json()["low_threshold"] > 4,
        }

    async def test_threshold_is_set_and_low_stock_shows(self, platform: Platform) -> None:
        sku = await pool_sku(platform)
        body = {"keys": fresh_keys(3), "low_threshold": 2}
        loaded = await platform.client.post(
            f"/api/v1/admin/keys/{sku}/pool", json=body, headers=OPS
        )
        assert loaded.status_code == 200, loaded.text
        assert (loaded.json()["loaded"], loaded.json()["low_threshold"]) == (3, 2)
        assert (await stock(platform, sku) or {})["low"] is False
        raised = await platform.client.put(
            f"/api/v1/admin/keys/{sku}/threshold", json={"low_threshold": 5}, headers=OPS
        )
        assert raised.status_code == 200, raised.text
        assert raised.json() == {
            "sku": sku,
            "available": 3,
            "issued": 0,
            "low_threshold": 5,
            "low": True,
        }
        off = await platform.client.put(
            f"/api/v1/admin/keys/{sku}/threshold", json={"low_threshold": 0}, headers=OPS
        )
        assert off.json()["low"] is False

    async def test_bad_input_is_4xx_with_a_code_and_changes_nothing(
        self, platform: Platform
    ) -> None:
        sku = await pool_sku(platform)
        generator = await platform.product(lambda p: p["kind"] == "key")
        partner = await platform.new_partner(limit=RICH)
        key = fresh_keys(1)[0].encode()
        cases: list[tuple[str, bytes, str, dict[str, str], int, str]] = [
            (sku, b"", "text/plain", OPS, 422, "validation_error"),
            (sku, b"\n \n", "text/plain", OPS, 422, "validation_error"),
            (sku, b"\xff\xfe\x00bad", "text/plain", OPS, 422, "validation_error"),
            (sku, b"K1\x07\n", "text/plain", OPS, 422, "validation_error"),
            (sku, b"A" * 201, "text/plain", OPS, 422, "validation_error"),
            (sku, b"[1, 2]", "application/json", OPS, 422, "validation_error"),
            (sku, b'{"keys": "K1"}', "application/json", OPS, 422, "validation_error"),
            (sku, b'{"keys": ["K1"], "x": 1}', "application/json", OPS, 422, "validation_error"),
            (
                sku,
                b'{"keys": ["K1"], "low_threshold": -1}',
                "application/json",
                OPS,
                422,
                "validation_error",
            ),
            (sku, b'{"keys": [', "application/json", OPS, 400, "validation_error"),
            (sku, b"<keys/>", "application/xml", OPS, 415, "validation_error"),
            (sku, b"\n".join([b"K"] * 10_001), "text/plain", OPS, 413, "validation_error"),
            ("NO-SUCH-SKU", key, "text/plain", OPS, 422, "unknown_sku"),
            (generator["sku"], key, "text/plain", OPS, 422, "validation_error"),
            (sku, key, "text/plain", partner.headers, 403, "forbidden"),
            (sku, key, "text/plain", {}, 401, "unauthorized"),
        ]
        for target, content, content_type, auth, status, code in cases:
            answer = await platform.client.post(
                f"/api/v1/admin/keys/{target}/pool",
                content=content,
                headers={**auth, "Content-Type": content_type},
            )
            assert answer.status_code == status, (content[:40], answer.text)
            if content_type == "application/xml":  # an XML caller hears problems in XML
                assert answer.headers["content-type"].startswith("application/problem+xml")
                assert f"<code>{code}</code>" in answer.text, answer.text
                continue
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == code, (content[:40], answer.text)
        for threshold_body in ({"low_threshold": -1}, {"low_threshold": "5"}, {"x": 1}):
            answer = await platform.client.put(
                f"/api/v1/admin/keys/{sku}/threshold", json=threshold_body, headers=OPS
            )
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "validation_error"
        assert await stock(platform, sku) is None  # no pool was even created


class TestPoolOrders:
    async def test_short_stock_is_rejected_before_any_key_is_taken(
        self, platform: Platform
    ) -> None:
        sku = await pool_sku(platform)
        keys = fresh_keys(2)
        assert (
            await load(platform, sku, "\n".join(keys).encode(), "text/plain")
        ).status_code == 200
        partner = await platform.new_partner(limit=RICH)
        short = await placed(platform, partner, {"external_id": ext(), "sku": sku, "quantity": 3})
        assert (short["status"], short["reason"], short["keys"]) == ("rejected", "out_of_stock", [])
        level = await stock(platform, sku) or {}
        assert (level["available"], level["issued"]) == (2, 0)
        await assert_nothing_charged(platform, partner)
        # exactly what is there: both keys, the ones ops loaded, and the pool is empty
        whole = await placed(platform, partner, {"external_id": ext(), "sku": sku, "quantity": 2})
        assert whole["status"] == "completed", whole
        assert sorted(k["activation_code"] for k in whole["keys"]) == sorted(keys)
        level = await stock(platform, sku) or {}
        assert (level["available"], level["issued"]) == (0, 2)
        # an issued key cannot be loaded again
        reload = await load(platform, sku, keys[0].encode(), "text/plain")
        assert reload.json()["refused"] == [{"line": 1, "reason": "already_issued"}]

    async def test_concurrent_orders_share_a_pool_without_issuing_a_key_twice(
        self, platform: Platform
    ) -> None:
        sku = await pool_sku(platform)
        keys = fresh_keys(5)
        assert (
            await load(platform, sku, "\n".join(keys).encode(), "text/plain")
        ).status_code == 200
        partner = await platform.new_partner(limit=RICH)
        orders = await asyncio.gather(
            *(
                platform.order(partner, {"external_id": ext(), "sku": sku, "quantity": 1})
                for _ in range(8)
            )
        )
        finals = [await platform.final_order(partner, o["id"], timeout=60) for o in orders]
        completed = [o for o in finals if o["status"] == "completed"]
        assert len(completed) == 5
        assert {o["reason"] for o in finals if o["status"] != "completed"} == {"out_of_stock"}
        issued = [k["activation_code"] for o in completed for k in o["keys"]]
        assert sorted(issued) == sorted(keys)


class TestVendorApi:
    async def test_vendor_delivers_and_ops_see_it_by_name(
        self, platform: Platform, vendor: VendorStub
    ) -> None:
        product = await vendor_product(platform)
        partner = await platform.new_partner(limit=RICH)
        order = await placed(
            platform,
            partner,
            {
                "external_id": ext(),
                "sku": product["sku"],
                "quantity": 2,
                "fields": fields_for(product),
            },
        )
        assert order["status"] == "completed", order
        assert len({k["activation_code"] for k in order["keys"]}) == 2
        stats = await vendor.stats()
        assert (stats["sets_issued"], stats["keys_issued"]) == (1, 2)
        # the order's vendor reached the keys service: the health view is per catalog vendor
        health = await vendor_health(platform, product["vendor"])
        assert health is not None, "IssueKeys did not carry the product's vendor"
        assert health["circuit"] == "closed"

    async def test_lost_answer_is_retried_into_one_set_of_keys(
        self, platform: Platform, vendor: VendorStub
    ) -> None:
        product = await vendor_product(platform)
        partner = await platform.new_partner(limit=RICH)
        await vendor.control(timeout_next=1, hang_seconds=3)
        order = await placed(
            platform,
            partner,
            {
                "external_id": ext(),
                "sku": product["sku"],
                "quantity": 3,
                "fields": fields_for(product),
            },
        )
        assert order["status"] == "completed", order
        stats = await vendor.stats()
        assert (stats["sets_issued"], stats["repeated"]) == (1, 1)
        assert len(order["keys"]) == 3

    async def test_vendor_down_fails_the_order_releases_credit_and_opens_the_circuit(
        self, platform: Platform, vendor: VendorStub
    ) -> None:
        product = await vendor_product(platform)
        partner = await platform.new_partner(limit=RICH)
        await vendor.control(mode="fail")
        body = {
            "external_id": ext(),
            "sku": product["sku"],
            "quantity": 1,
            "fields": fields_for(product),
        }
        order = await placed(platform, partner, body)
        assert (order["status"], order["reason"], order["keys"]) == (
            "failed",
            "vendor_unavailable",
            [],
        )
        assert (await vendor.stats())["requests"] == 3  # every attempt of the retry budget
        # while the circuit is open, the next order fails without a round of calls: none, or
        # one trial call if this slow, shared machine took longer than the reset time to get here
        second = await placed(platform, partner, {**body, "external_id": ext()})
        assert (second["status"], second["reason"]) == ("failed", "vendor_unavailable")
        assert (await vendor.stats())["requests"] in (3, 4)
        await assert_nothing_charged(platform, partner)
        health = await vendor_health(platform, product["vendor"])
        assert health is not None
        assert health["circuit"] == "open"
        assert health["failures"] >= 3
        assert health["error_rate"] > 0

    async def test_timing_out_vendor_fails_then_recovery_closes_the_circuit(
        self, platform: Platform, vendor: VendorStub
    ) -> None:
        product = await vendor_product(platform)
        partner = await platform.new_partner(limit=RICH)
        await vendor.control(mode="timeout", hang_seconds=3)
        await asyncio.sleep(BREAKER_RESET + 0.2)  # let an open circuit try again
        body = {
            "external_id": ext(),
            "sku": product["sku"],
            "quantity": 1,
            "fields": fields_for(product),
        }
        order = await placed(platform, partner, body)
        assert (order["status"], order["reason"]) == ("failed", "vendor_unavailable")
        assert (await vendor.stats())["sets_issued"] == 0
        await assert_nothing_charged(platform, partner)
        # the vendor comes back: after the reset time a trial call succeeds and closes it
        await vendor.control(mode="ok")
        await asyncio.sleep(BREAKER_RESET + 0.2)
        recovered = await placed(platform, partner, {**body, "external_id": ext()})
        assert recovered["status"] == "completed", recovered
        health = await vendor_health(platform, product["vendor"])
        assert health is not None
        assert health["circuit"] == "closed"


class TestGeneratorKeys:
    async def test_keys_verify_offline_with_the_public_key_and_a_changed_key_fails(
        self, platform: Platform
    ) -> None:
        product = await platform.product(lambda p: p["kind"] == "key" and not p["required_fields"])
        partner = await platform.new_partner(limit=RICH)
        order = await placed(
            platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 3}
        )
        assert order["status"] == "completed", order
        public_pem = KeySigner(KeysSettings().keys_signing_seed).public_pem()
        public_key = load_public_key(public_pem)
        codes = [k["activation_code"] for k in order["keys"]]
        assert len(set(codes)) == 3
        for code in codes:
            assert verify_key(code, public_key, sku=product["sku"])
            assert not verify_key(code, public_key, sku=product["sku"] + "-OTHER")
            changed = ("B" if code[0] != "B" else "C") + code[1:]
            assert not verify_key(changed, public_key)


class TestDownloads:
    """Last in the module: it moves the platform's test clock forward."""

    async def test_every_use_is_counted_tampered_404_expired_410(self, platform: Platform) -> None:
        product = await platform.product(lambda p: p["kind"] == "key" and not p["required_fields"])
        partner = await platform.new_partner(limit=RICH)
        order = await placed(
            platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2}
        )
        assert order["status"] == "completed", order
        first, second = (k["download_url"] for k in order["keys"])
        path = urlsplit(first).path + "?" + urlsplit(first).query
        answers = await asyncio.gather(*(platform.client.get(path) for _ in range(5)))
        assert {a.status_code for a in answers} == {302}
        assert answers[0].headers["location"] == product["download_url"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(first).query).items()}
        assert (await platform.client.get(path.replace(query["sig"], "0" * 64))).status_code == 404
        other = path.replace(f"expires={query['expires']}", f"expires={int(query['expires']) + 1}")
        assert (await platform.client.get(other)).status_code == 404

        async def uses() -> dict[str, dict[str, Any]]:
            answer = await platform.client.get(
                "/api/v1/admin/keys/downloads", params={"order_id": order["id"]}, headers=OPS
            )
            assert answer.status_code == 200, answer.text
            return {item["key_id"]: item for item in answer.json()["items"]}

        counted = await uses()
        key_id = urlsplit(first).path.rsplit("/", 1)[1]
        assert list(counted) == [key_id]  # the other key's link was never used
        assert (counted[key_id]["uses"], counted[key_id]["expired_uses"]) == (5, 0)
        # eight days later the link is gone (410) and that use is counted apart
        moved = await platform.client.post(
            "/api/v1/admin/clock", json={"advance_days": 8}, headers=OPS
        )
        assert moved.status_code == 200, moved.text
        expired = await platform.client.get(path)
        assert expired.status_code == 410
        assert expired.json()["code"] == "link_expired"
        counted = await uses()
        assert (counted[key_id]["uses"], counted[key_id]["expired_uses"]) == (5, 1)
        assert second != first
        bad = await platform.client.get(
            "/api/v1/admin/keys/downloads", params={"order_id": "nope"}, headers=OPS
        )
        assert bad.status_code in (400, 422)
