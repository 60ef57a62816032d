"""Subscriptions charged at month end, end to end through the gateway (issue 7, the charging):
a subscription made and changed through the API, the test clock moved past the month's last
day, and the month appears once as a line of the last day's document and once as debt in the
balance; a later clock move charges nothing again."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from esd_contracts.billing.finance import subscription_charge_id
from esd_contracts.subscriptions.proration import DayState, month_charge

from tests.e2e.test_subscriptions_flow import (  # the lifecycle's own fixtures and helpers
    MOSCOW,
    RICH,
    act,
    advance_days,
    create,
    platform,  # noqa: F401 - a fixture
    set_clock,
    stub,  # noqa: F401 - a fixture
    subscription_product,
)
from tests.support import Platform, eventually

pytestmark = pytest.mark.timeout(300)


async def lines_of(running: Platform, headers: dict[str, str], day: date) -> list[Any]:
    answer = await running.client.get(
        "/api/v1/documents",
        params={"from": day.isoformat(), "to": day.isoformat()},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    documents = answer.json()
    items = documents["items"] if isinstance(documents, dict) else documents
    return [line for d in items for line in d["lines"]]


async def test_a_month_is_charged_once_on_its_last_day_and_becomes_debt(
    platform: Platform,  # noqa: F811 - the imported fixture
) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    status, sub = await create(
        platform, partner, {"external_id": "e2e-charge", "sku": product["sku"], "quantity": 3}
    )
    assert status == 201, sub
    created = platform.services["orders"].clock.today_moscow()  # 2026-11-10
    changed = await advance_days(platform, 5)
    status, sub = await act(platform, partner, sub["id"], "quantity", 5)
    assert status == 200, sub
    price = Decimal(sub["monthly_price"])
    days = {
        date(2026, 11, d): DayState(3 if date(2026, 11, d) < changed else 5, price)
        for d in range(created.day, 31)
    }
    expected = month_charge(days, date(2026, 11, 1))
    last_day = date(2026, 11, 30)
    charge_id = str(subscription_charge_id(uuid.UUID(sub["id"]), date(2026, 11, 1)))

    await set_clock(platform, datetime(2026, 12, 1, 0, 10, tzinfo=MOSCOW))

    async def charged() -> bool:
        lines = await lines_of(platform, partner.headers, last_day)
        return any(line["order_id"] == charge_id for line in lines)

    await eventually(charged, timeout=40)

    async def debt_booked() -> bool:
        answer = await platform.client.get("/api/v1/balance", headers=partner.headers)
        return bool(answer.json()["debt"] == f"{expected:.2f}")

    await eventually(debt_booked, timeout=20)
    await set_clock(platform, datetime(2026, 12, 1, 3, 0, tzinfo=MOSCOW))  # later ticks
    await eventually(debt_booked, timeout=5)
    lines = [
        line
        for line in await lines_of(platform, partner.headers, last_day)
        if line["order_id"] == charge_id
    ]
    assert [(line["amount"], line["quantity"], line["sku"]) for line in lines] == [
        (f"{expected:.2f}", 1, product["sku"])
    ]
