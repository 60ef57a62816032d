"""Bad input answers a clear 4xx problem+json with a stable code, and creates nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.support import Partner, Platform

pytestmark = pytest.mark.integration


async def no_orders(platform: Platform, partner: Partner) -> None:
    listing = await platform.client.get("/api/v1/orders", headers=partner.headers)
    assert listing.status_code == 200, listing.text
    assert listing.json()["items"] == []


def problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()


@pytest.fixture
async def partner(platform: Platform) -> Partner:
    return await platform.new_partner()


@pytest.fixture
async def sku(platform: Platform) -> str:
    product = await platform.product(
        lambda p: p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 5000
    )
    return str(product["sku"])


@pytest.fixture
async def pin_product(platform: Platform) -> dict[str, Any]:
    return await platform.product(lambda p: any(f["name"] for f in p["required_fields"]))


class TestOrderValidation:
    @pytest.mark.parametrize("quantity", [0, 1001, -1, 2.5, "3", None, True])
    async def test_bad_quantity_is_invalid_quantity(
        self, platform: Platform, partner: Partner, sku: str, quantity: Any
    ) -> None:
        answer = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": "q-1", "sku": sku, "quantity": quantity},
            headers=partner.headers,
        )
        problem(answer, 422, "invalid_quantity")
        await no_orders(platform, partner)

    async def test_unknown_sku(self, platform: Platform, partner: Partner) -> None:
        answer = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": "u-1", "sku": "NO-SUCH-SKU", "quantity": 1},
            headers=partner.headers,
        )
        problem(answer, 422, "unknown_sku")
        await no_orders(platform, partner)

    async def test_inactive_product(self, platform: Platform, partner: Partner) -> None:
        inactive = await platform.inactive_product()
        answer = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": "i-1", "sku": inactive, "quantity": 1},
            headers=partner.headers,
        )
        problem(answer, 422, "product_inactive")
        await no_orders(platform, partner)

    async def test_missing_and_invalid_required_field(
        self, platform: Platform, partner: Partner, pin_product: dict[str, Any]
    ) -> None:
        field = pin_product["required_fields"][0]["name"]
        missing = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": "f-1", "sku": pin_product["sku"], "quantity": 1},
            headers=partner.headers,
        )
        problem(missing, 422, "missing_required_field")
        invalid = await platform.client.post(
            "/api/v1/orders",
            json={
                "external_id": "f-2",
                "sku": pin_product["sku"],
                "quantity": 1,
                "fields": {field: "not a pin!"},
            },
            headers=partner.headers,
        )
        problem(invalid, 422, "invalid_field")
        await no_orders(platform, partner)

    @pytest.mark.parametrize("external_id", ["", "x" * 65, 12345])
    async def test_bad_external_id(
        self, platform: Platform, partner: Partner, sku: str, external_id: Any
    ) -> None:
        answer = await platform.client.post(
            "/api/v1/orders",
            json={"external_id": external_id, "sku": sku, "quantity": 1},
            headers=partner.headers,
        )
        assert 400 <= answer.status_code < 500
        assert answer.json()["code"] == "validation_error"
        await no_orders(platform, partner)

    async def test_malformed_json(self, platform: Platform, partner: Partner) -> None:
        answer = await platform.client.post(
            "/api/v1/orders",
            content=b'{"external_id": "m-1", "sku": ',
            headers={**partner.headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "validation_error"
        await no_orders(platform, partner)

    async def test_body_of_the_wrong_shape(self, platform: Platform, partner: Partner) -> None:
        body: Any
        for body in ([], "order", {"sku": 5, "quantity": 1}):
            answer = await platform.client.post(
                "/api/v1/orders", json=body, headers=partner.headers
            )
            assert 400 <= answer.status_code < 500, answer.text
            assert answer.json()["code"] in {"validation_error", "unknown_sku"}
        await no_orders(platform, partner)


class TestAuth:
    async def test_missing_or_wrong_key_is_401(self, platform: Platform) -> None:
        for headers in ({}, {"Authorization": "Bearer nope"}):
            answer = await platform.client.get("/api/v1/balance", headers=headers)
            problem(answer, 401, "unauthorized")

    async def test_partner_key_never_reaches_admin(
        self, platform: Platform, partner: Partner
    ) -> None:
        answer = await platform.client.get("/api/v1/admin/applications", headers=partner.headers)
        problem(answer, 403, "forbidden")

    async def test_unknown_order_is_404(self, platform: Platform, partner: Partner) -> None:
        answer = await platform.client.get(
            f"/api/v1/orders/{uuid.uuid4()}", headers=partner.headers
        )
        problem(answer, 404, "not_found")
