"""Shared pieces of the gateway's integration tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from esd_contracts.catalog.events import ProductChanged, RequiredField
from esd_contracts.envelope import Message
from esd_platform.messaging import topic_exchange
from gateway.runtime import Gateway
from sqlalchemy import text

OPS_TOKEN = "ops-test-token"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}
VALID_INN = "7707083893"  # Sberbank: a real, valid 10-digit INN


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def publish(gateway: Gateway, message: Message) -> None:
    await gateway.service.broker.publish(
        message.model_dump_json().encode(),
        exchange=topic_exchange(message.exchange_name()),
        routing_key=message.message_type(),
        persist=True,
        **message.envelope(),
    )


async def scalar(gateway: Gateway, sql: str, **params: Any) -> Any:
    async with gateway.service.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


def product(sku: str = "KL-KIS-1Y", revision: int = 1, **overrides: Any) -> ProductChanged:
    values: dict[str, Any] = {
        "correlation_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "sku": sku,
        "revision": revision,
        "name": "Kaspersky Internet Security, 1 year",
        "vendor": "Kaspersky",
        "version": "2026",
        "category": "Antivirus",
        "kind": "key",
        "base_price": Decimal("1500.00"),
        "vat_rate": "exempt",
        "required_fields": (),
        "download_url": "https://products.s.kaspersky-labs.com/kis.exe",
        "key_source": "generator",
        "active": True,
    }
    values.update(overrides)
    return ProductChanged(**values)


PIN_FIELD = RequiredField(name="partner_pin", title="Partner PIN", pattern=r"\d{6}")


async def seed_products(gateway: Gateway, *products: ProductChanged) -> None:
    for p in products:
        await publish(gateway, p)

    async def arrived() -> bool:
        count = await scalar(
            gateway,
            "SELECT count(*) FROM products WHERE (sku, revision) IN "
            "(SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:revs AS bigint[])))",
            skus=[p.sku for p in products],
            revs=[p.revision for p in products],
        )
        return bool(count == len(products))

    await wait_for(arrived)


async def onboard(client: httpx.AsyncClient, inn: str = VALID_INN) -> dict[str, Any]:
    """Apply and approve; returns the approval (partner_id, api_key, ...)."""
    response = await client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО Ромашка",
            "inn": inn,
            "email": "sales@romashka.example",
            "region": "Москва",
        },
    )
    assert response.status_code == 201, response.text
    application_id = response.json()["application_id"]
    response = await client.post(
        f"/api/v1/admin/applications/{application_id}/approve", headers=OPS
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
