"""A partner's integration end to end: the Python client (``clients/python``) and the worked
shop example (``examples/shop``) against the running platform; no key or secret in any log
line; a distributor sees its partners' orders and balances and nothing else."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from esd_client import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    Unauthorized,
    verify_headers,
    verify_signature,
)

from tests.support import OPS, Partner, Platform, eventually, serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _transport(platform: Platform) -> httpx.AsyncBaseTransport:
    return platform.client._transport  # the in-loop ASGI transport of the platform's gateway


@pytest.fixture(scope="module")
async def served(platform: Platform) -> AsyncIterator[str]:
    """The platform's gateway also on a real port, for the sync client and the shop."""
    async with serving(platform) as base:
        yield base


async def _sku(platform: Platform) -> str:
    found = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 5000
    )
    return str(found["sku"])


class _LoseFirstAnswer(httpx.AsyncBaseTransport):
    """Passes requests on, but loses the gateway's first answer to POST /orders (as a dropped
    connection would): the order was taken, the client does not know."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/api/v1/orders" and not self.lost:
            self.lost += 1
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class TestAsyncClient:
    async def test_place_wait_get_list_balance_and_export(self, platform: Platform) -> None:
        partner = await platform.new_partner(live=True)
        sku = await _sku(platform)
        async with AsyncClient(
            "http://gateway.test", partner.api_key, transport=_transport(platform)
        ) as esd:
            external = f"shop-{uuid.uuid4().hex[:8]}"
            order = await esd.place_order(sku, 2, external_id=external, wait=10)
            if not order.final:
                order = await esd.wait_for_order(order.id, max_wait=30)
            assert order.status == "completed", order
            assert len(order.keys) == 2
            assert order.external_id == external
            again = await esd.get_order(order.id)
            assert [k.activation_code for k in again.keys] == [
                k.activation_code for k in order.keys
            ]
            listed = await esd.list_orders(external_id=external)
            assert [o.id for o in listed.items] == [order.id]
            assert order.id in [o.id async for o in esd.iter_orders(limit=1)]
            balance = await esd.balance()
            assert balance.currency == "RUB"
            assert balance.available == balance.remainder - balance.reserved
            feed = await esd.export_catalog("json")
            assert feed.etag
            assert sku in {p.sku for p in feed.products()}
            etag: str | None = feed.etag
            for _ in range(60):  # the replica may still take the seed's last products
                unchanged = await esd.export_catalog("json", etag=etag)
                if unchanged.not_modified:
                    break
                etag = unchanged.etag
                await asyncio.sleep(0.5)
            assert unchanged.not_modified
            assert (await esd.product(sku)).sku == sku
            assert (await esd.products(limit=5)).items

    async def test_a_lost_answer_is_retried_into_the_same_order(self, platform: Platform) -> None:
        partner = await platform.new_partner(live=True)
        sku = await _sku(platform)
        lossy = _LoseFirstAnswer(_transport(platform))
        esd = AsyncClient(
            "http://gateway.test",
            partner.api_key,
            transport=lossy,
            retry=RetryPolicy(backoff=0.01),
        )
        async with esd:
            order = await esd.place_order(sku, 1, external_id="shop-77", wait=10)
            assert lossy.lost == 1
            assert order.replayed  # the gateway answered with the order it had taken
            orders = await esd.list_orders(external_id="shop-77")
            assert len(orders.items) == 1
            with pytest.raises(Conflict) as reused:  # same id, another body: never a 2nd order
                await esd.place_order(sku, 3, external_id="shop-77")
            assert reused.value.code == "idempotency_conflict"

    async def test_problems_are_typed_errors_with_the_specs_code(self, platform: Platform) -> None:
        partner = await platform.new_partner(live=True)
        async with AsyncClient(
            "http://gateway.test", partner.api_key, transport=_transport(platform)
        ) as esd:
            with pytest.raises(BadRequest) as unknown:
                await esd.place_order("NO-SUCH-SKU", 1)
            assert (unknown.value.status, unknown.value.code) == (422, "unknown_sku")
            with pytest.raises(NotFound) as missing:
                await esd.get_order(uuid.uuid4())
            assert missing.value.code == "not_found"
        async with AsyncClient(
            "http://gateway.test", "esd_wrong", transport=_transport(platform)
        ) as stranger:
            with pytest.raises(Unauthorized) as refused:
                await stranger.balance()
            assert refused.value.code == "unauthorized"

    async def test_429_and_503_are_retried_after_the_servers_pause(self) -> None:
        answers = iter(
            [
                httpx.Response(
                    429,
                    headers={"Retry-After": "7"},
                    json={"code": "rate_limited", "status": 429},
                ),
                httpx.Response(503, json={"code": "service_unavailable", "status": 503}),
                httpx.Response(
                    200,
                    json={
                        "currency": "RUB",
                        "limit": "1.00",
                        "debt": "0.00",
                        "reserved": "0.00",
                        "remainder": "1.00",
                        "available": "1.00",
                        "overdue_amount": "0.00",
                        "blocked": False,
                        "term_days": 15,
                        "next_due_date": None,
                    },
                ),
            ]
        )
        pauses: list[float] = []

        async def no_sleep(seconds: float) -> None:
            pauses.append(seconds)

        mock = httpx.MockTransport(lambda request: next(answers))
        async with AsyncClient("http://x", "k", transport=mock) as esd:
            esd.sleep = no_sleep
            assert (await esd.balance()).limit == 1
        assert pauses[0] == 7  # Retry-After honoured
        assert len(pauses) == 2
        always_busy = httpx.MockTransport(
            lambda request: httpx.Response(
                429, headers={"Retry-After": "1"}, json={"code": "rate_limited"}
            )
        )
        async with AsyncClient(
            "http://x", "k", transport=always_busy, retry=RetryPolicy(attempts=2)
        ) as esd:
            esd.sleep = no_sleep
            with pytest.raises(RateLimited) as limited:
                await esd.balance()
            assert limited.value.retry_after == 1
        broken = httpx.MockTransport(lambda request: httpx.Response(500, text="oops"))
        async with AsyncClient(
            "http://x", "k", transport=broken, retry=RetryPolicy(attempts=2)
        ) as esd:
            esd.sleep = no_sleep
            with pytest.raises(ServerError) as failed:
                await esd.balance()
            assert failed.value.code == "internal_error"

    def test_webhook_signatures_verify(self) -> None:
        secret, body = "whsec_test", b'{"id":"1","status":"completed"}'
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        ts = str(int(time.time()))
        ts_sig = (
            "sha256="
            + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        assert verify_signature(secret, body, sig)
        assert not verify_signature(secret, body + b" ", sig)
        assert not verify_signature("other", body, sig)
        assert not verify_signature(secret, body, None)
        assert verify_signature(secret, body, sig, timestamp=ts, timestamp_signature=ts_sig)
        assert not verify_signature(
            secret, body, sig, timestamp=ts, timestamp_signature=ts_sig, now=time.time() + 3600
        )
        headers = {
            "x-esd-signature": sig,
            "X-Esd-Timestamp": ts,
            "X-ESD-Timestamp-Signature": ts_sig,
        }
        assert verify_headers(secret, body, headers)


class TestSyncClientAndShop:
    async def test_sync_client_over_a_real_socket(self, platform: Platform, served: str) -> None:
        partner = await platform.new_partner(live=True)
        sku = await _sku(platform)

        def run() -> tuple[Any, Any, Any]:
            with Client(served, partner.api_key) as esd:
                first = esd.place_order(sku, 1, external_id="sync-1", wait=10)
                replay = esd.place_order(sku, 1, external_id="sync-1")
                return esd.wait_for_order(first.id, max_wait=30), replay, esd.balance()

        order, replay, balance = await asyncio.to_thread(run)
        assert order.status == "completed"
        assert replay.replayed
        assert replay.id == order.id
        assert balance.limit > 0

    async def test_the_shop_imports_sells_and_checks_a_webhook(
        self, platform: Platform, served: str, tmp_path: Path
    ) -> None:
        shop_module = _load_shop()
        approval = await _approved_partner(platform)
        sku = await _sku(platform)

        def run() -> tuple[int, int, dict[str, Any], dict[str, Any]]:
            with Client(served, approval["api_key"]) as esd:
                shop = shop_module.Shop(esd, tmp_path / "shop.db", approval["webhook_secret"])
                imported = shop.import_catalog()
                for _ in range(60):  # ETag: once nothing changed, nothing is fetched
                    again = shop.import_catalog()
                    if again == 0:
                        break
                    time.sleep(0.5)
                sold = shop.sell(sku, 2)
                return imported, again, sold, {"shop": shop}

        imported, again, sold, holder = await asyncio.to_thread(run)
        assert imported > 0
        assert again == 0
        assert sold["status"] == "completed"
        assert len(sold["keys"]) == 2
        assert all(k["code"] for k in sold["keys"])
        # the callback esd would send for it: the order as GET shows it, signed
        partner = Partner(approval["partner_id"], approval["api_key"])
        orders = await platform.client.get(
            "/api/v1/orders", params={"external_id": sold["order"]}, headers=partner.headers
        )
        body = json.dumps(orders.json()["items"][0]).encode()
        signature = (
            "sha256="
            + hmac.new(approval["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
        )
        shop = holder["shop"]
        assert await asyncio.to_thread(shop.handle_webhook, body, {"X-Esd-Signature": signature})
        assert not await asyncio.to_thread(
            shop.handle_webhook, body + b" ", {"X-Esd-Signature": signature}
        )

    async def test_the_shops_command_line(
        self, platform: Platform, served: str, tmp_path: Path
    ) -> None:
        shop_module = _load_shop()
        partner = await platform.new_partner(live=True)
        db = str(tmp_path / "cli.db")
        args = ["--url", served, "--key", partner.api_key, "--db", db, "import"]
        assert await asyncio.to_thread(shop_module.main, args) == 0


def _load_shop() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shop_example", ROOT / "examples/shop/shop.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["shop_example"] = module
    spec.loader.exec_module(module)
    return module


async def _approved_partner(platform: Platform, **application: Any) -> dict[str, Any]:
    """A live partner whose approval (key and webhook secret) the test keeps."""
    applied = await platform.client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО «Магазин»",
            "inn": "7710140679",
            "email": "shop@example.ru",
            "region": "Москва",
        }
        | application,
    )
    assert applied.status_code == 201, applied.text
    approved = await platform.client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
    )
    assert approved.status_code == 200, approved.text
    approval = dict(approved.json())
    pid = approval["partner_id"]
    await platform.client.post(
        f"/api/v1/admin/partners/{pid}/contract-signed",
        json={"number": "S-1", "date": "2026-01-01"},
        headers=OPS,
    )
    live = await platform.client.post(f"/api/v1/admin/partners/{pid}/go-live", headers=OPS)
    assert live.status_code == 200, live.text
    await platform.wait_for_credit_line(Partner(pid, approval["api_key"]), None)
    return approval


class TestNoSecretsInLogs:
    async def test_an_approval_and_an_order_log_no_key_secret_or_code(
        self, platform: Platform, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        approval = await _approved_partner(platform)
        partner = Partner(approval["partner_id"], approval["api_key"])
        sku = await _sku(platform)
        order = await platform.order(partner, {"external_id": "log-1", "sku": sku, "quantity": 2})
        if order["status"] != "completed":
            order = await platform.final_order(partner, order["id"])
        assert order["status"] == "completed"
        rotated = await platform.client.post(
            f"/api/v1/admin/partners/{partner.partner_id}/api-keys", headers=OPS
        )
        await asyncio.sleep(0.5)  # the outbox and the consumers' lines of this order
        captured = capsys.readouterr()
        logs = captured.out + captured.err
        assert order["id"] in logs  # the capture saw the services' lines of this order
        secrets = [
            approval["api_key"],
            approval["webhook_secret"],
            rotated.json()["api_key"],
            *(k["activation_code"] for k in order["keys"]),
        ]
        for secret in secrets:
            assert secret not in logs


class TestDistributorView:
    async def test_a_distributor_sees_its_partners_orders_and_balance_and_nothing_else(
        self, platform: Platform
    ) -> None:
        distributor = await _approved_partner(platform)
        other_distributor = await platform.new_partner(live=True)
        reseller = distributor["reseller_id"]
        sub = await _approved_partner(platform, distributor_reseller_id=reseller, inn="7744001497")
        loner = await platform.new_partner(live=True)
        sku = await _sku(platform)
        sub_p = Partner(sub["partner_id"], sub["api_key"])
        placed = await platform.order(sub_p, {"external_id": "d-1", "sku": sku, "quantity": 1})
        await platform.final_order(sub_p, placed["id"])
        await platform.order(loner, {"external_id": "d-2", "sku": sku, "quantity": 1})
        mine = {"Authorization": f"Bearer {distributor['api_key']}"}
        base = f"/api/v1/distributor/partners/{sub['partner_id']}"

        listed = await platform.client.get(f"{base}/orders", headers=mine)
        assert listed.status_code == 200, listed.text
        assert [o["id"] for o in listed.json()["items"]] == [placed["id"]]
        assert listed.json()["items"][0]["keys"] == []  # the keys are the partner's alone
        one = await platform.client.get(f"{base}/orders/{placed['id']}", headers=mine)
        assert one.status_code == 200
        balance = await platform.client.get(f"{base}/balance", headers=mine)
        assert balance.status_code == 200
        # nothing of anyone else's: a partner not under it, another distributor, the partner
        loner_base = f"/api/v1/distributor/partners/{loner.partner_id}"
        for path, headers in [
            (f"{loner_base}/orders", mine),
            (f"{loner_base}/balance", mine),
            (f"{base}/orders", other_distributor.headers),
            (f"{base}/orders/{placed['id']}", other_distributor.headers),
            (f"{base}/orders", sub_p.headers),
            (f"/api/v1/orders/{placed['id']}", mine),  # not through the partner API either
        ]:
            answer = await platform.client.get(path, headers=headers)
            assert answer.status_code == 404, (path, answer.text)
        assert (await platform.client.get(f"{base}/orders")).status_code == 401


class TestOwnershipMatrix:
    async def test_every_role_against_every_resource(self, platform: Platform) -> None:
        """Partner A (under distributor D), partner B, D, another distributor D2, ops and
        anonymous × A's order, its cancel, A's document, A as seen by D, A as ops see it."""
        dist = await _approved_partner(platform)
        a_approval = await _approved_partner(
            platform, distributor_reseller_id=dist["reseller_id"], inn="7825706086"
        )
        a = Partner(a_approval["partner_id"], a_approval["api_key"])
        b = await platform.new_partner(live=True)
        d2 = await platform.new_partner(live=True)
        d = Partner(dist["partner_id"], dist["api_key"])
        sku = await _sku(platform)
        placed = await platform.order(a, {"external_id": "own-1", "sku": sku, "quantity": 1})
        order = await platform.final_order(a, placed["id"])
        assert order["status"] == "completed"
        number: dict[str, str] = {}

        async def documented() -> bool:
            docs = await platform.client.get("/api/v1/documents", headers=a.headers)
            items = docs.json().get("items", []) if docs.status_code == 200 else []
            if items:
                number["n"] = items[0]["number"]
            return bool(items)

        await eventually(documented, timeout=30)
        roles: dict[str, dict[str, str]] = {
            "A": a.headers,
            "B": b.headers,
            "D": d.headers,
            "D2": d2.headers,
            "ops": OPS,
            "anonymous": {},
        }
        oid, pid = order["id"], a.partner_id
        matrix: list[tuple[str, str, dict[str, int]]] = [
            (
                "GET",
                f"/api/v1/orders/{oid}",
                {"A": 200, "B": 404, "D": 404, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "POST",
                f"/api/v1/orders/{oid}/cancel",
                {"A": 409, "B": 404, "D": 404, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "GET",
                f"/api/v1/documents/{number['n']}",
                {"A": 200, "B": 404, "D": 404, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "GET",
                f"/api/v1/distributor/partners/{pid}/orders",
                {"A": 404, "B": 404, "D": 200, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "GET",
                f"/api/v1/distributor/partners/{pid}/orders/{oid}",
                {"A": 404, "B": 404, "D": 200, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "GET",
                f"/api/v1/distributor/partners/{pid}/balance",
                {"A": 404, "B": 404, "D": 200, "D2": 404, "ops": 401, "anonymous": 401},
            ),
            (
                "GET",
                f"/api/v1/admin/partners/{pid}",
                {"A": 403, "B": 403, "D": 403, "D2": 403, "ops": 200, "anonymous": 401},
            ),
        ]
        wrong: list[str] = []
        for method, path, expected in matrix:
            for role, status in expected.items():
                answer = await platform.client.request(method, path, headers=roles[role])
                if answer.status_code != status:
                    wrong.append(f"{role} {method} {path}: {answer.status_code} != {status}")
                if status >= 400 and answer.status_code == status:
                    assert answer.headers["content-type"].startswith("application/problem+json")
                    assert oid not in answer.text or status == 409, (role, path)
        assert wrong == []
