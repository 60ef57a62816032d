"""Order intake, outcomes, waiting, keys and download links through the HTTP API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from esd_contracts.keys.queries import GetOrderKeys, IssuedKey, OrderKeys
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderRejected,
)
from esd_platform.messaging import answers
from faststream.rabbit import RabbitBroker, RabbitRouter
from gateway.runtime import Gateway

from services.gateway.tests.integration.helpers import (
    OPS,
    PIN_FIELD,
    bearer,
    onboard,
    product,
    publish,
    scalar,
    seed_products,
    wait_for,
)

pytestmark = pytest.mark.integration

# what ``running`` (conftest.py) and this module's ``world`` yield
Running = tuple[httpx.AsyncClient, Gateway]

PRODUCTS = (
    product("KL-KIS-1Y"),
    product("KL-KES-PIN", name="Kaspersky Endpoint Security", required_fields=(PIN_FIELD,)),
    product(
        "AB-WARPEACE",
        name="Война и мир, аудиокнига",
        vendor="Ардис",
        kind="key",
        base_price=Decimal("999.99"),
        vat_rate="22",
    ),
    product("OLD-1", active=False),
)


class Shop:
    def __init__(self, client: httpx.AsyncClient, gateway: Gateway, key: str, partner_id: str):
        self.client, self.gateway, self.headers = client, gateway, bearer(key)
        self.partner_id = uuid.UUID(partner_id)

    async def order(self, wait: int | None = None, **body: Any) -> httpx.Response:
        payload = {"external_id": uuid.uuid4().hex, "sku": "KL-KIS-1Y", "quantity": 1, **body}
        url = "/api/v1/orders" + (f"?wait={wait}" if wait is not None else "")
        return await self.client.post(url, json=payload, headers=self.headers)


@pytest.fixture(scope="module")
async def world(running: Running) -> AsyncIterator[Running]:
    """The module's gateway with the products in its replica and a stand-in keys service."""
    client, gateway = running
    await seed_products(gateway, *PRODUCTS)
    keys_service = await _fake_keys_service(gateway.service.settings.amqp_url)
    try:
        yield client, gateway
    finally:
        await keys_service.stop()


@pytest.fixture
async def shop(world: Running) -> Shop:
    """A fresh partner for each test, so tests never see each other's orders."""
    client, gateway = world
    approval = await onboard(client)
    return Shop(client, gateway, approval["api_key"], approval["partner_id"])


async def _fake_keys_service(amqp_url: str) -> RabbitBroker:
    """Answers GetOrderKeys like the keys service: two keys, for the owner only."""
    router = RabbitRouter()

    @answers(router, GetOrderKeys)
    async def order_keys(query: GetOrderKeys) -> OrderKeys:
        return OrderKeys(
            keys=tuple(
                IssuedKey(key_id=uuid.uuid5(query.order_id, str(i)), activation_code=f"TEST-{i}")
                for i in range(2)
            )
        )

    broker = RabbitBroker(amqp_url)
    broker.include_router(router)
    await broker.start()
    return broker


async def orders_count(shop: Shop) -> int:
    return int(
        await scalar(
            shop.gateway, "SELECT count(*) FROM orders WHERE partner_id = :p", p=shop.partner_id
        )
    )


def completed(order_id: str, partner_id: uuid.UUID) -> OrderCompleted:
    oid = uuid.UUID(order_id)
    return OrderCompleted(
        correlation_id=oid,
        occurred_at=datetime.now(UTC),
        order_id=oid,
        partner_id=partner_id,
        amount=Decimal("1500.00"),
        key_count=2,
        completed_at=datetime.now(UTC),
    )


class TestIntakeChecks:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"sku": "NO-SUCH"}, "unknown_sku"),
            ({"sku": "OLD-1"}, "product_inactive"),
            ({"quantity": 0}, "invalid_quantity"),
            ({"quantity": 1001}, "invalid_quantity"),
            ({"quantity": "3"}, "invalid_quantity"),
            ({"quantity": 1.5}, "invalid_quantity"),
            ({"quantity": True}, "invalid_quantity"),
            ({"quantity": None}, "invalid_quantity"),
            ({"sku": "KL-KES-PIN"}, "missing_required_field"),
            ({"sku": "KL-KES-PIN", "fields": {"partner_pin": "12345"}}, "invalid_field"),
            ({"sku": "KL-KES-PIN", "fields": {"partner_pin": "1234567"}}, "invalid_field"),
            ({"external_id": ""}, "validation_error"),
            ({"external_id": "x" * 65}, "validation_error"),
            ({"sku": 5}, "validation_error"),
            ({"fields": {"partner_pin": 123456}}, "validation_error"),
            ({"test": "yes"}, "validation_error"),
        ],
    )
    async def test_bad_order_is_422_with_its_code_and_creates_nothing(
        self, shop: Shop, body: dict[str, Any], code: str
    ) -> None:
        response = await shop.order(**body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == code
        assert problem["status"] == 422
        assert {"type", "title", "detail"} <= problem.keys()
        assert await orders_count(shop) == 0

    @pytest.mark.parametrize(
        "raw", [b"{bad json", b"", b"[]", b'"text"', b"\xff\xfe", b'{"external_id": "a"}']
    )
    async def test_malformed_or_incomplete_body_is_4xx_problem(
        self, shop: Shop, raw: bytes
    ) -> None:
        response = await shop.client.post(
            "/api/v1/orders",
            content=raw,
            headers={**shop.headers, "content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation_error"
        assert "Traceback" not in response.text
        assert await orders_count(shop) == 0

    async def test_wait_out_of_range_is_refused(self, shop: Shop) -> None:
        response = await shop.order(wait=31)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert await orders_count(shop) == 0


class TestIntake:
    async def test_accepted_order_is_202_priced_and_sent_to_the_saga(self, shop: Shop) -> None:
        response = await shop.order(sku="AB-WARPEACE", quantity=3, external_id="shop-1")
        assert response.status_code == 202, response.text
        order = response.json()
        assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
        assert order["status"] == "pending"
        assert order["unit_price"] == "999.99"
        assert order["amount"] == "2999.97"
        assert order["vat_rate"] == "22"
        assert order["vat_amount"] == "540.98"  # 2999.97 × 22 / 122 = 540.978…
        assert order["keys"] == []
        assert order["test"] is False

        # PlaceOrder left through the outbox into the orders queue
        async def relayed() -> bool:
            return bool(await scalar(shop.gateway, "SELECT count(*) FROM outbox") == 0)

        await wait_for(relayed)

    async def test_required_field_that_matches_is_accepted(self, shop: Shop) -> None:
        response = await shop.order(sku="KL-KES-PIN", fields={"partner_pin": "123456"})
        assert response.status_code == 202, response.text

    async def test_same_body_again_is_200_same_order_other_body_409(self, shop: Shop) -> None:
        first = await shop.order(external_id="dup-1", quantity=2)
        again = await shop.order(external_id="dup-1", quantity=2)
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        other = await shop.order(external_id="dup-1", quantity=3)
        assert other.status_code == 409
        assert other.json()["code"] == "idempotency_conflict"
        assert await orders_count(shop) == 1

    async def test_racing_identical_requests_make_one_order(self, shop: Shop) -> None:
        answers_ = await asyncio.gather(*(shop.order(external_id="race-1") for _ in range(10)))
        assert sorted(a.status_code for a in answers_) == [200] * 9 + [202]
        assert len({a.json()["id"] for a in answers_}) == 1
        assert await orders_count(shop) == 1

    async def test_another_partners_order_is_404(self, shop: Shop) -> None:
        mine = (await shop.order()).json()
        other = await onboard(shop.client, inn="500100732259")
        response = await shop.client.get(
            f"/api/v1/orders/{mine['id']}", headers=bearer(other["api_key"])
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        cancel = await shop.client.post(
            f"/api/v1/orders/{mine['id']}/cancel", headers=bearer(other["api_key"])
        )
        assert cancel.status_code == 404
        listed = await shop.client.get("/api/v1/orders", headers=bearer(other["api_key"]))
        assert listed.json()["items"] == []


class TestOutcomes:
    async def test_wait_returns_201_with_keys_when_the_order_completes(self, shop: Shop) -> None:
        async def complete_soon() -> None:
            async def pending_row() -> bool:
                return await orders_count(shop) == 1

            await wait_for(pending_row)
            order_id = await scalar(
                shop.gateway, "SELECT id::text FROM orders WHERE partner_id = :p", p=shop.partner_id
            )
            await publish(shop.gateway, completed(order_id, shop.partner_id))

        response, _ = await asyncio.gather(shop.order(wait=10, quantity=2), complete_soon())
        assert response.status_code == 201, response.text
        order = response.json()
        assert order["status"] == "completed"
        assert order["completed_at"]
        assert [k["activation_code"] for k in order["keys"]] == ["TEST-0", "TEST-1"]
        link = order["keys"][0]["download_url"]
        assert link.startswith("/api/v1/downloads/")
        redirect = await shop.client.get(link)
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "https://products.s.kaspersky-labs.com/kis.exe"
        # tampered: another signature, another expiry, another key
        parts = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        bad_sig = link.replace(query["sig"], "0" * 64)
        assert (await shop.client.get(bad_sig)).status_code == 404
        longer = link.replace(f"expires={query['expires']}", f"expires={int(query['expires']) + 9}")
        assert (await shop.client.get(longer)).status_code == 404
        other_key = link.replace(parts.path.rsplit("/", 1)[1], str(uuid.uuid4()))
        assert (await shop.client.get(other_key)).status_code == 404
        # expired: eight days later by the test clock
        moved = await shop.client.post("/api/v1/admin/clock", json={"advance_days": 8}, headers=OPS)
        assert moved.status_code == 200, moved.text
        expired = await shop.client.get(link)
        assert expired.status_code == 410

    async def test_wait_times_out_as_202_pending(self, shop: Shop) -> None:
        response = await shop.order(wait=1)
        assert response.status_code == 202
        assert response.json()["status"] == "pending"

    async def test_rejection_shows_reason_and_get_wait_wakes(self, shop: Shop) -> None:
        order = (await shop.order()).json()
        oid = uuid.UUID(order["id"])

        async def reject_soon() -> None:
            await asyncio.sleep(0.2)
            await publish(
                shop.gateway,
                OrderRejected(
                    correlation_id=oid,
                    occurred_at=datetime.now(UTC),
                    order_id=oid,
                    partner_id=shop.partner_id,
                    reason="partner_not_live",
                ),
            )

        started = asyncio.get_running_loop().time()
        response, _ = await asyncio.gather(
            shop.client.get(f"/api/v1/orders/{oid}?wait=10", headers=shop.headers), reject_soon()
        )
        assert asyncio.get_running_loop().time() - started < 5
        assert response.json()["status"] == "rejected"
        assert response.json()["reason"] == "partner_not_live"
        assert response.json()["keys"] == []
        listed = await shop.client.get("/api/v1/orders?status=rejected", headers=shop.headers)
        assert [o["id"] for o in listed.json()["items"]] == [order["id"]]

    async def test_cancel_is_200_when_the_saga_cancels(self, shop: Shop) -> None:
        order = (await shop.order()).json()
        oid = uuid.UUID(order["id"])

        async def cancel_soon() -> None:
            await asyncio.sleep(0.3)
            await publish(
                shop.gateway,
                OrderCancelled(
                    correlation_id=oid,
                    occurred_at=datetime.now(UTC),
                    order_id=oid,
                    partner_id=shop.partner_id,
                ),
            )

        response, _ = await asyncio.gather(
            shop.client.post(f"/api/v1/orders/{oid}/cancel", headers=shop.headers), cancel_soon()
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"

    async def test_cancel_is_409_when_refused_or_completed(self, shop: Shop) -> None:
        order = (await shop.order()).json()
        oid = uuid.UUID(order["id"])

        async def refuse_soon() -> None:
            await asyncio.sleep(0.3)
            await publish(
                shop.gateway,
                CancellationRefused(
                    correlation_id=oid,
                    occurred_at=datetime.now(UTC),
                    order_id=oid,
                    partner_id=shop.partner_id,
                ),
            )

        response, _ = await asyncio.gather(
            shop.client.post(f"/api/v1/orders/{oid}/cancel", headers=shop.headers), refuse_soon()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "not_cancellable"
        await publish(shop.gateway, completed(order["id"], shop.partner_id))
        done = await shop.client.get(f"/api/v1/orders/{oid}?wait=5", headers=shop.headers)
        assert done.json()["status"] == "completed"
        again = await shop.client.post(f"/api/v1/orders/{oid}/cancel", headers=shop.headers)
        assert again.status_code == 409
