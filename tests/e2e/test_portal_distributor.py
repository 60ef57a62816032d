"""A regional distributor sets a partner's price and terms in the portal, through the catalog
and credit services: the partner then sees them in the API (whole platform, real broker and DB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from esd_platform.testing import isolated_settings, wait_for
from sqlalchemy import text

from services.gateway.tests.portal.test_portal_pages import csrf_of, onboard
from tests.support import OPS, OPS_TOKEN, Platform, running_platform


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with isolated_settings() as settings, running_platform(settings) as running:
        yield running


async def reseller_id_of(platform: Platform, email: str) -> str:
    gateway = platform.client._transport.app.state.gateway  # type: ignore[attr-defined]
    async with gateway.service.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.reseller_id FROM partners p JOIN portal_users u USING (partner_id) "
                    "WHERE u.email = :e"
                ),
                {"e": email},
            )
        ).one()
    return str(row.reseller_id)


async def test_a_distributor_discounts_its_partners_prices_in_the_portal(
    platform: Platform,
) -> None:
    client = platform.client
    distributor, _ = await onboard(client, "dist-price@portal.test", OPS_TOKEN)
    applied = await client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО «Цена»",
            "inn": "7707083893",
            "email": "price@portal.test",
            "region": "Тверь",
            "distributor_reseller_id": await reseller_id_of(platform, "dist-price@portal.test"),
        },
    )
    approved = await client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=OPS
    )
    partner = approved.json()
    headers = {"Authorization": f"Bearer {partner['api_key']}"}

    async def seeded() -> bool:
        answer = await client.get("/api/v1/catalog/products?limit=1", headers=headers)
        return bool(answer.json()["items"])

    await wait_for(seeded, timeout=30)
    await platform.catalog_settled()  # the price rule below is a query to the catalog
    product = (await client.get("/api/v1/catalog/products?limit=1", headers=headers)).json()[
        "items"
    ][0]
    mine = await distributor.get("/portal/my-partners")
    assert "ООО «Цена»" in mine.text
    saved = await distributor.post(
        f"/portal/my-partners/{partner['partner_id']}/terms",
        data={"_csrf": csrf_of(mine.text), "limit": "60000", "term_days": "20", "percent": "-10"},
    )
    assert saved.status_code == 303, saved.text
    expected = (Decimal(product["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))

    async def repriced_and_termed() -> bool:
        shown = await client.get(f"/api/v1/catalog/products/{product['sku']}", headers=headers)
        balance = await client.get("/api/v1/balance", headers=headers)
        return (
            Decimal(shown.json()["price"]) == expected
            and balance.status_code == 200
            and balance.json()["term_days"] == 20
            and balance.json()["limit"] == "60000.00"
        )

    await wait_for(repriced_and_termed, timeout=30)
    await distributor.aclose()
