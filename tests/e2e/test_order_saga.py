"""A partner's order becomes keys: the whole saga through the gateway, over RabbitMQ and
PostgreSQL, with every service running."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from esd_cli.launcher import demo_skus

from tests.support import Platform, eventually

pytestmark = pytest.mark.integration


def plain_key_product(item: dict[str, Any]) -> bool:
    return (
        item["kind"] == "key"
        and not item["required_fields"]
        and item["vat_rate"] == "exempt"
        and Decimal(item["price"]) < Decimal("5000")
    )


def ext() -> str:
    return f"shop-{uuid.uuid4().hex[:12]}"


class TestFullSaga:
    async def test_order_completes_with_unique_keys_debt_and_a_document_line(
        self, platform: Platform
    ) -> None:
        partner = await platform.new_partner()
        product = await platform.product(plain_key_product)
        answer = await platform.client.post(
            "/api/v1/orders?wait=10",
            json={"external_id": ext(), "sku": product["sku"], "quantity": 3},
            headers=partner.headers,
        )
        assert answer.status_code == 201, answer.text
        order = answer.json()
        assert order["status"] == "completed"
        assert answer.headers["location"] == f"/api/v1/orders/{order['id']}"
        assert len(order["keys"]) == 3
        codes = {k["activation_code"] for k in order["keys"]}
        assert len(codes) == 3
        assert all(k["download_url"] and k["download_expires_at"] for k in order["keys"])
        amount = Decimal(product["price"]) * 3
        assert Decimal(order["amount"]) == amount

        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == amount
        assert Decimal(balance["reserved"]) == 0
        assert Decimal(balance["available"]) == Decimal(balance["limit"]) - amount

        documents = await platform.client.get("/api/v1/documents", headers=partner.headers)
        assert documents.status_code == 200, documents.text
        [document] = (
            documents.json() if isinstance(documents.json(), list) else documents.json()["items"]
        )
        assert [line["order_id"] for line in document["lines"]] == [order["id"]]
        assert Decimal(document["amount"]) == amount

    async def test_download_link_redirects_to_the_distribution(self, platform: Platform) -> None:
        partner = await platform.new_partner()
        product = await platform.product(plain_key_product)
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        link = order["keys"][0]["download_url"]
        path = link[link.index("/api/v1/") :]
        answer = await platform.client.get(path, follow_redirects=False)
        assert answer.status_code == 302
        assert answer.headers["location"] == product["download_url"]
        tampered = await platform.client.get(path.replace("sig=", "sig=0"), follow_redirects=False)
        assert tampered.status_code == 404

    async def test_test_order_gets_test_keys_and_touches_no_credit(
        self, platform: Platform
    ) -> None:
        partner = await platform.new_partner(live=False)
        product = await platform.product(plain_key_product)
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2, "test": True}
        )
        assert order["status"] == "completed"
        assert all(k["activation_code"].startswith("TEST-") for k in order["keys"])
        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == 0
        documents = (await platform.client.get("/api/v1/documents", headers=partner.headers)).json()
        assert not (documents if isinstance(documents, list) else documents["items"])

    async def test_partner_not_live_is_rejected_for_real_orders(self, platform: Platform) -> None:
        partner = await platform.new_partner(live=False)
        product = await platform.product(plain_key_product)
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        assert (order["status"], order["reason"]) == ("rejected", "partner_not_live")

    async def test_the_sku_make_run_suggests_ships_at_once(self, platform: Platform) -> None:
        """`make run` prints a ready-to-paste order; a pool product there would be
        out_of_stock on a fresh machine."""
        partner = await platform.new_partner()
        sku = demo_skus()[0]
        await platform.product(lambda item: item["sku"] == sku)  # the gateway's replica has it
        order = await platform.order(partner, {"external_id": ext(), "sku": sku, "quantity": 1})
        assert order["status"] == "completed", order
        assert len(order["keys"]) == 1


class TestRefusalsAndCompensation:
    async def test_credit_refused_rejects_and_charges_nothing(self, platform: Platform) -> None:
        partner = await platform.new_partner(limit="100.00")
        product = await platform.product(
            lambda p: plain_key_product(p) and Decimal(p["price"]) > 100
        )
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        assert (order["status"], order["reason"]) == ("rejected", "credit_limit_exceeded")
        assert order["keys"] == []
        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == Decimal(balance["reserved"]) == 0

    async def test_vendor_failure_fails_the_order_and_releases_the_credit(
        self, platform: Platform
    ) -> None:
        """A pool product whose pool is empty: the keys adapter fails, the reservation goes back."""
        partner = await platform.new_partner()
        product = await platform.product(
            lambda p: p["kind"] == "key" and not p["required_fields"], key_source="pool"
        )
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        # an empty pool refuses before any key is taken: rejected out_of_stock (issue #5)
        assert (order["status"], order["reason"]) == ("rejected", "out_of_stock")
        balance = await platform.balance(partner)
        assert Decimal(balance["reserved"]) == 0
        assert Decimal(balance["debt"]) == 0


class TestIdempotency:
    async def test_same_body_again_is_the_same_order(self, platform: Platform) -> None:
        partner = await platform.new_partner()
        product = await platform.product(plain_key_product)
        body = {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        first = await platform.client.post(
            "/api/v1/orders?wait=10", json=body, headers=partner.headers
        )
        again = await platform.client.post("/api/v1/orders", json=body, headers=partner.headers)
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        conflict = await platform.client.post(
            "/api/v1/orders", json={**body, "quantity": 2}, headers=partner.headers
        )
        assert conflict.status_code == 409
        assert conflict.json()["code"] == "idempotency_conflict"
        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == Decimal(product["price"])

    async def test_racing_identical_requests_make_one_order(self, platform: Platform) -> None:
        partner = await platform.new_partner()
        product = await platform.product(plain_key_product)
        body = {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        answers = await asyncio.gather(
            *(
                platform.client.post("/api/v1/orders", json=body, headers=partner.headers)
                for _ in range(5)
            )
        )
        assert {a.status_code for a in answers} <= {200, 202}
        assert len({a.json()["id"] for a in answers}) == 1
        final = await platform.final_order(partner, answers[0].json()["id"])
        assert final["status"] == "completed"

    async def test_a_place_order_delivered_twice_has_one_effect(self, platform: Platform) -> None:
        """Re-publish the gateway's PlaceOrder as a crashed relay would: same id, one saga."""
        from sqlalchemy import text

        partner = await platform.new_partner()
        product = await platform.product(plain_key_product)
        order = await platform.order(
            partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        orders = platform.services["orders"]
        async with orders.engine.connect() as conn:
            history = (
                await conn.execute(
                    text("SELECT count(*) FROM saga_history WHERE order_id = :o"),
                    {"o": order["id"]},
                )
            ).scalar_one()
        from esd_contracts.orders.commands import PlaceOrder
        from esd_platform.messaging import topic_exchange

        replay = PlaceOrder(
            correlation_id=uuid.UUID(order["id"]),
            occurred_at=orders.clock.now(),
            order_id=uuid.UUID(order["id"]),
            partner_id=uuid.UUID(partner.partner_id),
            partner_live=True,
            external_id=order["external_id"],
            sku=order["sku"],
            name=order["name"],
            quantity=1,
            unit_price=Decimal(order["unit_price"]),
            amount=Decimal(order["amount"]),
            vat_rate=order["vat_rate"],
            vat_amount=Decimal(order["vat_amount"]),
            test=False,
            key_source="generator",
        )
        await orders.broker.publish(
            replay.model_dump_json().encode(),
            exchange=topic_exchange(replay.exchange_name()),
            routing_key=replay.message_type(),
            persist=True,
            **replay.envelope(),
        )

        async def handled() -> bool:
            async with orders.engine.connect() as conn:
                return bool(
                    (
                        await conn.execute(
                            text("SELECT count(*) FROM inbox WHERE message_id = :m"),
                            {"m": replay.message_id},
                        )
                    ).scalar_one()
                )

        await eventually(handled)
        async with orders.engine.connect() as conn:
            after = (
                await conn.execute(
                    text("SELECT count(*) FROM saga_history WHERE order_id = :o"),
                    {"o": order["id"]},
                )
            ).scalar_one()
        assert after == history
        balance = await platform.balance(partner)
        assert Decimal(balance["debt"]) == Decimal(order["amount"])


class TestOwnership:
    async def test_another_partners_order_is_404(self, platform: Platform) -> None:
        owner = await platform.new_partner()
        stranger = await platform.new_partner()
        product = await platform.product(plain_key_product)
        order = await platform.order(
            owner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
        )
        answer = await platform.client.get(
            f"/api/v1/orders/{order['id']}", headers=stranger.headers
        )
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
        assert "keys" not in answer.text or order["keys"][0]["activation_code"] not in answer.text
