"""Catalog from the replica, balance and documents through queries, the test clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from esd_contracts.billing.queries import Document, DocumentLine, Documents, GetDocuments
from esd_contracts.credit.queries import Balance, GetBalance
from esd_platform.messaging import answers
from esd_platform.settings import PlatformSettings
from faststream.rabbit import RabbitBroker, RabbitRouter
from gateway.bootstrap import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings
from sqlalchemy import text

from services.gateway.tests.integration.helpers import (
    OPS,
    bearer,
    onboard,
    product,
    publish,
    scalar,
    seed_products,
)

pytestmark = pytest.mark.integration

# what ``world`` yields: the client, the gateway and a partner's auth headers
World = tuple[httpx.AsyncClient, Gateway, dict[str, str]]

SLOW_PARTNER = uuid.UUID(int=7)
"""The stand-in credit service answers this partner's balance only after 1.5 s."""

CATALOG = (
    *(product(f"ESET-NOD32-{i:02d}", vendor="ESET", name=f"ESET NOD32 {i}") for i in range(7)),
    product("1C-BUH", vendor="1C", name="1С:Бухгалтерия 8", base_price=Decimal("4700.00")),
    product("MS-365", vendor="Microsoft", name="Microsoft 365", kind="subscription"),
)


@pytest.fixture(scope="module")
async def world(running: tuple[httpx.AsyncClient, Gateway]) -> AsyncIterator[World]:
    client, gateway = running
    await seed_products(gateway, *CATALOG)
    approval = await onboard(client)
    responders = await _fake_credit_and_billing(gateway.service.settings.amqp_url)
    try:
        yield client, gateway, bearer(approval["api_key"])
    finally:
        await responders.stop()


async def _fake_credit_and_billing(amqp_url: str) -> RabbitBroker:
    router = RabbitRouter()

    @answers(router, GetBalance)
    async def balance(query: GetBalance) -> Balance:
        if query.partner_id == SLOW_PARTNER:
            await asyncio.sleep(1.5)
        return Balance(
            found=True,
            limit=Decimal("50000"),
            debt=Decimal("1500"),
            reserved=Decimal("0.5"),
            remainder=Decimal("48500"),
            available=Decimal("48499.5"),
            overdue_amount=Decimal("0"),
            blocked=False,
            term_days=15,
            next_due_date=date(2026, 12, 11),
        )

    @answers(router, GetDocuments)
    async def documents(query: GetDocuments) -> Documents:
        doc = Document(
            number="R-000001-20261126",
            date=date(2026, 11, 26),
            lines=(
                DocumentLine(
                    order_id=uuid.UUID(int=1),
                    sku="1C-BUH",
                    name="1С:Бухгалтерия 8",
                    quantity=1,
                    unit_price=Decimal("4700"),
                    amount=Decimal("4700"),
                    vat_rate="exempt",
                    vat_amount=Decimal("0"),
                ),
            ),
            amount=Decimal("4700"),
            vat_amount=Decimal("0"),
            due_date=date(2026, 12, 11),
            paid_amount=Decimal("0"),
            status="open",
        )
        if query.number is not None and query.number != doc.number:
            return Documents(documents=())
        if query.date_from is not None and query.date_from > doc.date:
            return Documents(documents=())
        return Documents(documents=(doc,))

    broker = RabbitBroker(amqp_url)
    broker.include_router(router)
    await broker.start()
    return broker


class TestCatalog:
    async def test_products_page_by_cursor_and_filter(self, world: World) -> None:
        client, _, headers = world
        seen: list[str] = []
        url = "/api/v1/catalog/products?vendor=eset&limit=3"
        while True:
            page = (await client.get(url, headers=headers)).json()
            seen += [p["sku"] for p in page["items"]]
            if page["next_cursor"] is None:
                break
            url = f"/api/v1/catalog/products?vendor=eset&limit=3&cursor={page['next_cursor']}"
        assert seen == [f"ESET-NOD32-{i:02d}" for i in range(7)]
        subs = await client.get("/api/v1/catalog/products?kind=subscription", headers=headers)
        assert [p["sku"] for p in subs.json()["items"]] == ["MS-365"]
        found = await client.get("/api/v1/catalog/products?q=бухгалтерия", headers=headers)
        assert [p["sku"] for p in found.json()["items"]] == ["1C-BUH"]

    async def test_product_resource_is_the_spec_shape(self, world: World) -> None:
        client, _, headers = world
        response = await client.get("/api/v1/catalog/products/1C-BUH", headers=headers)
        assert response.status_code == 200
        assert response.json() == {
            "sku": "1C-BUH",
            "name": "1С:Бухгалтерия 8",
            "vendor": "1C",
            "version": "2026",
            "category": "Antivirus",
            "kind": "key",
            "price": "4700.00",
            "currency": "RUB",
            "vat_rate": "exempt",
            "required_fields": [],
            "download_url": "https://products.s.kaspersky-labs.com/kis.exe",
            "active": True,
        }
        missing = await client.get("/api/v1/catalog/products/NOPE", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"

    async def test_replica_keeps_the_newest_revision(self, world: World) -> None:
        _, gateway, _ = world
        await seed_products(gateway, product("REV-1", revision=5, base_price=Decimal("500")))
        await publish(gateway, product("REV-1", revision=3, base_price=Decimal("300")))
        await seed_products(gateway, product("REV-1", revision=6, base_price=Decimal("600")))
        await publish(gateway, product("REV-1", revision=4, base_price=Decimal("400")))
        # a later message on the same queue: once it is applied, the stale one was handled
        await seed_products(gateway, product("REV-MARK", revision=1))
        price = await scalar(gateway, "SELECT base_price FROM products WHERE sku = 'REV-1'")
        assert price == Decimal("600.00")

    async def test_bad_cursor_is_422(self, world: World) -> None:
        client, _, headers = world
        response = await client.get("/api/v1/catalog/products?cursor=%%%", headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


class TestReceivables:
    async def test_balance_in_the_spec_shape_with_money_strings(self, world: World) -> None:
        client, _, headers = world
        response = await client.get("/api/v1/balance", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "currency": "RUB",
            "limit": "50000.00",
            "debt": "1500.00",
            "reserved": "0.50",
            "remainder": "48500.00",
            "available": "48499.50",
            "overdue_amount": "0.00",
            "blocked": False,
            "term_days": 15,
            "next_due_date": "2026-12-11",
        }

    async def test_documents_list_and_one(self, world: World) -> None:
        client, _, headers = world
        listed = await client.get(
            "/api/v1/documents?from=2026-11-01&to=2026-11-30", headers=headers
        )
        assert listed.status_code == 200, listed.text
        [doc] = listed.json()["items"]
        assert doc["amount"] == "4700.00"
        assert doc["lines"][0]["unit_price"] == "4700.00"
        later = await client.get("/api/v1/documents?from=2026-12-01", headers=headers)
        assert later.json()["items"] == []
        one = await client.get("/api/v1/documents/R-000001-20261126", headers=headers)
        assert one.json()["number"] == "R-000001-20261126"
        assert one.json()["status"] == "open"
        missing = await client.get("/api/v1/documents/NOPE", headers=headers)
        assert missing.status_code == 404


class TestQueries:
    async def test_a_slow_query_does_not_hold_up_the_others(self, world: World) -> None:
        _, gateway, _ = world
        loop = asyncio.get_running_loop()
        now = datetime.now(UTC)

        async def timed_documents() -> float:
            await asyncio.sleep(0.1)  # the slow balance query is on its way first
            started = loop.time()
            query = GetDocuments(
                correlation_id=SLOW_PARTNER, occurred_at=now, partner_id=SLOW_PARTNER
            )
            await gateway.queries.ask(query, Documents)
            return loop.time() - started

        slow = GetBalance(correlation_id=SLOW_PARTNER, occurred_at=now, partner_id=SLOW_PARTNER)
        balance, documents_took = await asyncio.gather(
            gateway.queries.ask(slow, Balance), timed_documents()
        )
        assert balance.found
        assert documents_took < 1.0

    async def test_unanswered_query_is_503_problem(self, world: World) -> None:
        client, gateway, _ = world
        approval = await onboard(client)
        # nobody answers keys queries in this module: a completed order's keys are unavailable
        order_id = uuid.uuid4()
        async with gateway.service.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO orders (id, partner_id, external_id, fingerprint, sku, name, "
                    "quantity, unit_price, amount, vat_rate, vat_amount, test, status, "
                    "created_at, completed_at) VALUES (:id, :p, 'x', 'f', '1C-BUH', 'n', 1, 1, 1, "
                    "'exempt', 0, false, 'completed', now(), now())"
                ),
                {"id": order_id, "p": approval["partner_id"]},
            )
        response = await client.get(
            f"/api/v1/orders/{order_id}", headers=bearer(approval["api_key"])
        )
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"]


class TestClock:
    async def test_ops_moves_the_clock_in_test_env(self, world: World) -> None:
        client, gateway, headers = world
        moved = await client.post(
            "/api/v1/admin/clock", json={"now": "2027-01-15T10:00:00+03:00"}, headers=OPS
        )
        assert moved.status_code == 200, moved.text
        assert gateway.service.clock.now().date() == date(2027, 1, 15)
        assert (
            await client.post("/api/v1/admin/clock", json={"advance_days": 1}, headers=headers)
        ).status_code == 403
        both = await client.post(
            "/api/v1/admin/clock",
            json={"now": "2027-01-15T10:00:00Z", "advance_days": 1},
            headers=OPS,
        )
        assert both.status_code == 422

    async def test_clock_route_does_not_exist_outside_test_env(self) -> None:
        app = create_app(PlatformSettings(env="dev"), GatewaySettings())
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            response = await client.post(
                "/api/v1/admin/clock", json={"advance_days": 1}, headers=OPS
            )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
