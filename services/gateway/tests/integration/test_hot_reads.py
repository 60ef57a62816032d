"""Reads answered from memory: the authentication cache, the balance cache and the hot-read
layer in front of the app, and every way each of them learns that what it holds changed.

The stand-in credit service answers each balance query with a new debt (the query's number), so
a test tells a kept answer from a fresh one; the balance TTL is an hour, so only an
invalidation can explain a fresh answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from esd_contracts.credit.events import (
    CreditTermsSet,
    PartnerBlocked,
    PartnerUnblocked,
    PaymentAllocated,
    PaymentReceived,
)
from esd_contracts.credit.queries import Balance, GetBalance
from esd_contracts.envelope import Event
from esd_contracts.keys.queries import GetOrderKeys, IssuedKey, OrderKeys
from esd_contracts.orders.events import OrderCompleted, OrderRejected
from esd_platform.delivery import DeliverySeal
from esd_platform.messaging import answers
from esd_platform.testing import isolated_settings
from faststream.rabbit import RabbitBroker, RabbitRouter
from gateway.bootstrap import create_app
from gateway.runtime import Gateway
from gateway.service_layer import ordering
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client
from sqlalchemy import text

from services.gateway.tests.integration.helpers import (
    OPS,
    OPS_TOKEN,
    bearer,
    onboard,
    product,
    publish,
    seed_products,
    wait_for,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class World:
    client: httpx.AsyncClient
    gateway: Gateway
    asked: Counter[uuid.UUID]
    """Balance queries per partner."""
    keys_asked: Counter[uuid.UUID]
    """Key queries per order."""


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    asked: Counter[uuid.UUID] = Counter()
    keys_asked: Counter[uuid.UUID] = Counter()
    async with isolated_settings() as settings:
        app = create_app(
            settings,
            GatewaySettings(ops_token=OPS_TOKEN, query_timeout=2.0, balance_cache_seconds=3600),
        )
        async with in_loop_client(app) as client:
            gateway: Gateway = app.state.gateway
            await seed_products(gateway, product("KL-KIS-1Y"))
            router = RabbitRouter()

            @answers(router, GetBalance)
            async def balance(query: GetBalance) -> Balance:
                asked[query.partner_id] += 1
                debt = Decimal(asked[query.partner_id])
                return Balance(
                    found=True,
                    limit=Decimal("50000"),
                    debt=debt,
                    reserved=Decimal("0"),
                    remainder=Decimal("50000") - debt,
                    available=Decimal("50000") - debt,
                    overdue_amount=Decimal("0"),
                    blocked=False,
                    term_days=15,
                    next_due_date=date(2026, 12, 11),
                )

            @answers(router, GetOrderKeys)
            async def order_keys(query: GetOrderKeys) -> OrderKeys:
                keys_asked[query.order_id] += 1
                return OrderKeys(
                    keys=(IssuedKey(key_id=uuid.uuid5(query.order_id, "k"), activation_code="K-1"),)
                )

            responders = RabbitBroker(settings.amqp_url)
            responders.include_router(router)
            await responders.start()
            try:
                yield World(client, gateway, asked, keys_asked)
            finally:
                await responders.stop()


@dataclass
class Shop:
    world: World
    partner_id: uuid.UUID
    headers: dict[str, str]

    async def balance(self, **headers: str) -> httpx.Response:
        return await self.world.client.get("/api/v1/balance", headers={**self.headers, **headers})

    async def place(self, external_id: str) -> uuid.UUID:
        placed = await self.world.client.post(
            "/api/v1/orders",
            json={"external_id": external_id, "sku": "KL-KIS-1Y", "quantity": 1},
            headers=self.headers,
        )
        return uuid.UUID(placed.json()["id"])

    async def rejected(self, order_id: uuid.UUID) -> None:
        """The saga's outcome as the orders service would publish it."""
        await publish(
            self.world.gateway,
            OrderRejected(
                correlation_id=order_id,
                occurred_at=NOW,
                order_id=order_id,
                partner_id=self.partner_id,
                reason="credit_limit_exceeded",
            ),
        )

    async def debt(self) -> str:
        answer = await self.balance()
        assert answer.status_code == 200, answer.text
        return str(answer.json()["debt"])


@pytest.fixture
async def shop(world: World) -> Shop:
    approval = await onboard(world.client)
    return Shop(world, uuid.UUID(approval["partner_id"]), bearer(approval["api_key"]))


def credit_events(partner_id: uuid.UUID) -> list[Event]:
    base: dict[str, Any] = {"correlation_id": partner_id, "occurred_at": NOW}
    payment = uuid.uuid4()
    return [
        CreditTermsSet(**base, partner_id=partner_id, limit=Decimal("70000"), term_days=30),
        PaymentReceived(
            **base,
            payment_id=payment,
            partner_id=partner_id,
            payer_inn="7707083893",
            number="1",
            date=NOW.date(),
            amount=Decimal("10"),
        ),
        PaymentAllocated(
            **base,
            payment_id=payment,
            partner_id=partner_id,
            document_number="R-1",
            amount=Decimal("10"),
            payment_date=NOW.date(),
        ),
        PartnerBlocked(
            **base, partner_id=partner_id, overdue_amount=Decimal("5"), oldest_due_date=NOW.date()
        ),
        PartnerUnblocked(**base, partner_id=partner_id),
    ]


class TestBalance:
    async def test_a_repeated_read_is_answered_from_memory_with_the_same_bytes(
        self, shop: Shop
    ) -> None:
        first, second = await shop.balance(), await shop.balance()
        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        assert shop.world.asked[shop.partner_id] == 1
        for header in ("x-content-type-options", "cache-control", "content-type"):
            assert first.headers[header] == second.headers[header]

    async def test_reads_that_miss_together_send_one_query(self, shop: Shop) -> None:
        answers_ = await asyncio.gather(*(shop.balance() for _ in range(20)))
        assert {a.status_code for a in answers_} == {200}
        assert {a.json()["debt"] for a in answers_} == {"1.00"}
        assert shop.world.asked[shop.partner_id] == 1

    @pytest.mark.parametrize("index", range(5), ids=lambda i: f"event{i}")
    async def test_each_credit_event_of_the_partner_makes_the_next_read_fresh(
        self, shop: Shop, index: int
    ) -> None:
        assert await shop.debt() == "1.00"
        assert await shop.debt() == "1.00"
        await publish(shop.world.gateway, credit_events(shop.partner_id)[index])

        async def fresh() -> bool:
            return await shop.debt() == "2.00"

        await wait_for(fresh)

    async def test_another_partners_event_changes_nothing(self, shop: Shop, world: World) -> None:
        other = await onboard(world.client)
        other_id = uuid.UUID(other["partner_id"])
        assert await shop.debt() == "1.00"
        await publish(world.gateway, credit_events(other_id)[0])

        async def other_heard() -> bool:  # the event went round: the other's entry is gone
            return world.gateway.balances.generation(other_id)[1] > 0

        await wait_for(other_heard)
        assert await shop.debt() == "1.00"
        assert world.asked[shop.partner_id] == 1

    async def test_an_order_of_the_partner_becoming_final_makes_the_next_read_fresh(
        self, shop: Shop, world: World
    ) -> None:
        assert await shop.debt() == "1.00"
        order_id = await shop.place("o-1")
        assert await shop.debt() == "1.00"  # pending: credit's own events tell the rest
        await shop.rejected(order_id)
        final = await world.client.get(f"/api/v1/orders/{order_id}?wait=10", headers=shop.headers)
        assert final.json()["status"] == "rejected"
        assert await shop.debt() == "2.00"  # at once: the same notification woke the waiter

    async def test_a_past_moment_always_asks_credit(self, shop: Shop, world: World) -> None:
        for _ in range(2):
            answer = await world.client.get(
                "/api/v1/balance", params={"at": "2026-11-20T12:00:00+03:00"}, headers=shop.headers
            )
            assert answer.status_code == 200
        assert world.asked[shop.partner_id] == 2

    async def test_xml_and_json_are_kept_apart(self, shop: Shop) -> None:
        json_answer = await shop.balance()
        xml_answer = await shop.balance(accept="application/xml")
        assert xml_answer.headers["content-type"].startswith("application/xml")
        assert xml_answer.content.lstrip().startswith(b"<")
        assert (await shop.balance()).content == json_answer.content

    async def test_a_lost_listener_empties_the_caches_until_it_is_back(
        self, shop: Shop, world: World
    ) -> None:
        assert await shop.debt() == "1.00"
        async with world.gateway.service.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "application_name = 'esd-gateway-listener' AND datname = current_database()"
                )
            )

        # whatever was announced while it was down may be missed: nothing kept is trusted
        async def reconnected_and_fresh() -> bool:
            return world.gateway.balances.connected and await shop.debt() != "1.00"

        await wait_for(reconnected_and_fresh)

    async def test_moving_the_test_clock_makes_the_next_read_fresh(
        self, shop: Shop, world: World
    ) -> None:
        assert await shop.debt() == "1.00"
        moved = await world.client.post(
            "/api/v1/admin/clock", json={"advance_days": 1}, headers=OPS
        )
        assert moved.status_code == 200
        assert await shop.debt() == "2.00"

    @pytest.mark.parametrize("store", ["memory", "postgres"])
    async def test_replayed_answers_take_tokens_from_the_partners_budget(
        self, shop: Shop, world: World, store: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(world.gateway.settings, "rate_limit_store", store)
        budget = await world.client.put(
            f"/api/v1/admin/partners/{shop.partner_id}/rate-limit",
            json={"per_minute": 3},
            headers=OPS,
        )
        assert budget.status_code == 200
        statuses = [(await shop.balance()).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        refused = await shop.balance()
        assert refused.json()["code"] == "rate_limited"
        assert "retry-after" in refused.headers


class TestApiKeys:
    async def test_a_key_revoked_by_another_worker_is_refused_once_notified(
        self, shop: Shop, world: World
    ) -> None:
        assert (await shop.balance()).status_code == 200  # the key and the balance are kept
        async with world.gateway.service.engine.begin() as conn:  # as another process would
            await conn.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE partner_id = :p"),
                {"p": shop.partner_id},
            )

        async def refused() -> bool:
            return (await shop.balance()).status_code == 401

        await wait_for(refused, timeout=5)
        assert (await shop.balance()).json()["code"] == "unauthorized"

    async def test_a_key_revoked_through_the_api_is_refused_by_the_very_next_request(
        self, shop: Shop, world: World
    ) -> None:
        issued = await world.client.post(
            f"/api/v1/admin/partners/{shop.partner_id}/api-keys", headers=OPS
        )
        key = bearer(issued.json()["api_key"])
        for _ in range(2):
            assert (await world.client.get("/api/v1/balance", headers=key)).status_code == 200
        revoked = await world.client.delete(
            f"/api/v1/admin/partners/{shop.partner_id}/api-keys/{issued.json()['key_id']}",
            headers=OPS,
        )
        assert revoked.status_code == 204
        assert (await world.client.get("/api/v1/balance", headers=key)).status_code == 401
        assert (await shop.balance()).status_code == 200  # the partner's other key still works


def completed(shop: Shop, order_id: uuid.UUID, sealed_keys: str | None = None) -> OrderCompleted:
    return OrderCompleted(
        correlation_id=order_id,
        occurred_at=NOW,
        order_id=order_id,
        partner_id=shop.partner_id,
        amount=Decimal("1500.00"),
        key_count=1,
        completed_at=NOW,
        sealed_keys=sealed_keys,
    )


class TestFinalOrder:
    async def complete(self, shop: Shop, world: World, external_id: str) -> uuid.UUID:
        order_id = await shop.place(external_id)
        await publish(world.gateway, completed(shop, order_id))
        done = await world.client.get(f"/api/v1/orders/{order_id}?wait=10", headers=shop.headers)
        assert done.json()["status"] == "completed"
        return order_id

    async def test_a_completed_order_and_its_keys_are_read_once(
        self, shop: Shop, world: World
    ) -> None:
        order_id = await self.complete(shop, world, "f-1")
        answers_ = [
            await world.client.get(f"/api/v1/orders/{order_id}", headers=shop.headers)
            for _ in range(3)
        ]
        assert {a.status_code for a in answers_} == {200}
        assert answers_[1].content == answers_[2].content
        assert answers_[2].json()["keys"][0]["activation_code"] == "K-1"
        assert world.keys_asked[order_id] == 1

    async def test_an_outcome_consumed_here_is_kept_before_anyone_reads_it(
        self, shop: Shop, world: World
    ) -> None:
        order_id = await shop.place("f-sealed")
        key_id = uuid.uuid4()
        sealed = DeliverySeal(world.gateway.settings.key_delivery_secret).seal(
            order_id, [(key_id, "SEALED-1")]
        )
        await publish(world.gateway, completed(shop, order_id, sealed))

        async def kept() -> bool:
            return world.gateway.final_orders.get(order_id, shop.partner_id) is not None

        await wait_for(kept)
        found = world.gateway.final_orders.get(order_id, shop.partner_id)
        assert found is not None
        row, keys = found
        assert row.status == "completed"
        assert [(k.key_id, k.activation_code) for k in keys] == [(key_id, "SEALED-1")]
        answer = await world.client.get(f"/api/v1/orders/{order_id}", headers=shop.headers)
        assert answer.json()["keys"][0]["activation_code"] == "SEALED-1"
        assert world.keys_asked[order_id] == 0  # the keys service was never asked

    async def test_an_outcome_that_comes_before_the_wait_begins_ends_it(
        self, shop: Shop, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """POST ?wait=N waits from the order's row as written, so it must be watching before
        the row exists: here the outcome is consumed before the wait even starts."""
        place_order = ordering.place_order

        async def and_done_at_once(*args: Any, **kwargs: Any) -> ordering.PlacedOrder:
            placed = await place_order(*args, **kwargs)
            order_id = placed.row.id
            sealed = DeliverySeal(world.gateway.settings.key_delivery_secret).seal(
                order_id, [(uuid.uuid4(), "EARLY-1")]
            )
            await publish(world.gateway, completed(shop, order_id, sealed))

            async def consumed() -> bool:
                return world.gateway.final_orders.get(order_id, shop.partner_id) is not None

            await wait_for(consumed)
            return placed

        monkeypatch.setattr(ordering, "place_order", and_done_at_once)
        started = asyncio.get_running_loop().time()
        answer = await world.client.post(
            "/api/v1/orders?wait=5",
            json={"external_id": "f-early", "sku": "KL-KIS-1Y", "quantity": 1},
            headers=shop.headers,
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "completed"
        assert answer.json()["keys"][0]["activation_code"] == "EARLY-1"
        assert asyncio.get_running_loop().time() - started < 4  # woken, not timed out

    async def test_another_partner_never_gets_it_from_memory(
        self, shop: Shop, world: World
    ) -> None:
        order_id = await self.complete(shop, world, "f-2")
        assert (
            await world.client.get(f"/api/v1/orders/{order_id}", headers=shop.headers)
        ).status_code == 200
        other = await onboard(world.client)
        stranger = await world.client.get(
            f"/api/v1/orders/{order_id}", headers=bearer(other["api_key"])
        )
        assert stranger.status_code == 404
        assert stranger.json()["code"] == "not_found"

    async def test_a_pending_order_is_never_kept(self, shop: Shop, world: World) -> None:
        order_id = await shop.place("p-1")
        path = f"/api/v1/orders/{order_id}"
        assert (await world.client.get(path, headers=shop.headers)).json()["status"] == "pending"
        await shop.rejected(order_id)

        async def rejected() -> bool:
            answer = await world.client.get(path, headers=shop.headers)
            return bool(answer.json()["status"] == "rejected")

        await wait_for(rejected)
