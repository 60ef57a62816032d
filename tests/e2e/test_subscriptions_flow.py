"""Subscriptions end to end through the gateway (issue 7, the lifecycle): create provisions a
tenant at the vendor stub, each change is pushed to the vendor and confirmed, is effective on
the (test clock's) Moscow day it is made and publishes one ``SubscriptionChanged`` in sequence;
a vendor failure keeps the last confirmed state visibly; credit refuses what it cannot cover;
redelivered commands double nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import pytest
from esd_contracts.subscriptions.commands import ChangeSubscription, SubscriptionAnswer
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.proration import days_in_month, last_day_of_month
from esd_contracts.subscriptions.provisioning import ProvisionSubscription
from esd_platform.testing import isolated_settings
from gateway.adapters.queries import QueryClient
from orders.domain.subscription import step_id

from tests.e2e.test_keys_flow import VendorStub
from tests.support import OPS, Partner, Platform, eventually, running_platform

pytestmark = pytest.mark.timeout(300)

MOSCOW = ZoneInfo("Europe/Moscow")
RICH = "1000000.00"
START = datetime(2026, 11, 10, 12, 0, tzinfo=MOSCOW)  # a Tuesday; November has 30 days


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
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "ESD_VENDOR_API_URL": stub.url,
            "ESD_VENDOR_TIMEOUT": "0.5",
            "ESD_VENDOR_RETRY_BUDGET": "1.0",
            "ESD_VENDOR_MAX_ATTEMPTS": "2",
            "ESD_VENDOR_BACKOFF_BASE": "0.05",
            "ESD_VENDOR_BACKOFF_CAP": "0.1",
        }.items():
            env.setenv(name, value)
        async with isolated_settings() as settings, running_platform(settings) as running:
            await set_clock(running, START)
            yield running


@pytest.fixture
async def vendor(stub: VendorStub) -> AsyncIterator[VendorStub]:
    await stub.reset()
    yield stub
    await stub.reset()


class ChangedFeed:
    """Every SubscriptionChanged published, from a queue of the test's own."""

    def __init__(self, amqp_url: str) -> None:
        self.url = amqp_url
        self.events: list[SubscriptionChanged] = []
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self.connection = await aio_pika.connect_robust(self.url)
        channel = await self.connection.channel()
        exchange = await channel.get_exchange(SubscriptionChanged.exchange_name())
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=SubscriptionChanged.message_type())

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(SubscriptionChanged.model_validate_json(message.body))

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    def of(self, subscription_id: str) -> list[SubscriptionChanged]:
        return [e for e in self.events if str(e.subscription_id) == subscription_id]


@pytest.fixture(scope="module")
async def changed(platform: Platform) -> AsyncIterator[ChangedFeed]:
    feed = ChangedFeed(platform.settings.amqp_url)
    await feed.start()
    try:
        yield feed
    finally:
        await feed.stop()


# -- helpers ------------------------------------------------------------------------------------


async def set_clock(platform: Platform, moment: datetime) -> None:
    answer = await platform.client.post(
        "/api/v1/admin/clock", json={"now": moment.isoformat()}, headers=OPS
    )
    assert answer.status_code == 200, answer.text
    day = moment.astimezone(MOSCOW).date()

    async def everywhere() -> bool:
        return all(s.clock.today_moscow() == day for s in platform.services.values())

    await eventually(everywhere)


async def advance_days(platform: Platform, days: int) -> date:
    today = platform.services["orders"].clock.now()
    await set_clock(platform, today + timedelta(days=days))
    return platform.services["orders"].clock.today_moscow()


_products: dict[str, dict[str, Any]] = {}


async def subscription_product(platform: Platform) -> dict[str, Any]:
    if "sub" not in _products:
        _products["sub"] = await platform.product(
            lambda p: p["kind"] == "subscription", key_source=None
        )
    return _products["sub"]


def ext() -> str:
    return f"sub-{uuid.uuid4().hex[:12]}"


def body(product: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {"external_id": ext(), "sku": product["sku"], "quantity": quantity}


async def create(
    platform: Platform, partner: Partner, body: dict[str, Any], wait: int = 10
) -> tuple[int, dict[str, Any]]:
    answer = await platform.client.post(
        f"/api/v1/subscriptions?wait={wait}", json=body, headers=partner.headers
    )
    return answer.status_code, answer.json()


async def act(
    platform: Platform, partner: Partner, sub_id: str, action: str, quantity: int | None = None
) -> tuple[int, dict[str, Any]]:
    if action == "quantity":
        answer = await platform.client.patch(
            f"/api/v1/subscriptions/{sub_id}?wait=10",
            json={"quantity": quantity},
            headers=partner.headers,
        )
    else:
        answer = await platform.client.post(
            f"/api/v1/subscriptions/{sub_id}/{action}?wait=10", headers=partner.headers
        )
    return answer.status_code, answer.json()


async def read(platform: Platform, partner: Partner, sub_id: str) -> dict[str, Any]:
    answer = await platform.client.get(f"/api/v1/subscriptions/{sub_id}", headers=partner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def expected_charge(price: Decimal, seat_days: int, month_days: int) -> Decimal:
    return (price * seat_days / month_days).quantize(Decimal("0.01"))


# -- the lifecycle ------------------------------------------------------------------------------


async def test_lifecycle_each_change_confirmed_by_the_vendor_and_published_in_sequence(
    platform: Platform, vendor: VendorStub, changed: ChangedFeed
) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    body = {"external_id": ext(), "sku": product["sku"], "quantity": 3}
    status, sub = await create(platform, partner, body)
    assert status == 201, sub
    assert sub["status"] == "active", sub
    assert sub["vendor_tenant_id"].startswith("T-")
    assert sub["pending_change"] is None
    sub_id = sub["id"]
    day1 = platform.services["orders"].clock.today_moscow()
    price = Decimal(sub["monthly_price"])
    assert price == Decimal(product["price"])

    # the same body again: the same subscription (200); another body: 409
    again_status, again = await create(platform, partner, body)
    assert (again_status, again["id"]) == (200, sub_id)
    conflict_status, conflict = await create(platform, partner, {**body, "quantity": 4})
    assert (conflict_status, conflict["code"]) == (409, "idempotency_conflict")

    day2 = await advance_days(platform, 1)
    status, sub = await act(platform, partner, sub_id, "quantity", 5)
    assert (status, sub["quantity"], sub["status"]) == (200, 5, "active"), sub
    day3 = await advance_days(platform, 1)
    status, sub = await act(platform, partner, sub_id, "suspend")
    assert (status, sub["status"]) == (200, "suspended"), sub
    status, sub = await act(platform, partner, sub_id, "resume")  # the same day
    assert (status, sub["status"]) == (200, "active"), sub
    status, sub = await act(platform, partner, sub_id, "cancel")
    assert (status, sub["status"]) == (200, "cancelled"), sub
    status, refused = await act(platform, partner, sub_id, "resume")
    assert (status, refused["code"]) == (409, "not_resumable")
    replay_status, replay = await create(platform, partner, body)  # the create body, still
    assert (replay_status, replay["id"], replay["quantity"]) == (200, sub_id, 5)

    sub = await read(platform, partner, sub_id)
    assert [
        (h["sequence"], h["change"], h["seats"], h["effective_date"]) for h in sub["history"]
    ] == [
        (1, "created", 3, day1.isoformat()),
        (2, "quantity_changed", 5, day2.isoformat()),
        (3, "suspended", 0, day3.isoformat()),
        (4, "resumed", 5, day3.isoformat()),
        (5, "cancelled", 0, day3.isoformat()),
    ]
    # held: day1 × 3 seats, day2 × 5 seats; day3's last change (cancel) counts: 0
    n = days_in_month(day1)
    charged = expected_charge(price, 3 + 5, n)
    assert sub["charges"]["to_date"] == f"{charged:.2f}"
    assert sub["charges"]["forecast"] == f"{charged:.2f}"

    async def all_published() -> bool:
        return len(changed.of(sub_id)) >= 5

    await eventually(all_published)
    await asyncio.sleep(0.3)  # nothing more comes
    events = changed.of(sub_id)
    assert [(e.sequence, e.change, e.status, e.quantity, e.seats) for e in events] == [
        (1, "created", "active", 3, 3),
        (2, "quantity_changed", "active", 5, 5),
        (3, "suspended", "suspended", 5, 0),
        (4, "resumed", "active", 5, 5),
        (5, "cancelled", "cancelled", 5, 0),
    ]
    assert all(e.monthly_price == price and not e.test for e in events)
    assert (await vendor.stats())["subscriptions_created"] == 1
    assert (await vendor.stats())["subscription_updates"] == 4


async def test_charges_so_far_and_forecast_to_month_end(platform: Platform) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    status, sub = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2}
    )
    assert status == 201, sub
    today = platform.services["orders"].clock.today_moscow()
    price = Decimal(sub["monthly_price"])
    n = days_in_month(today)
    left = (last_day_of_month(today) - today).days + 1
    assert sub["charges"]["month"] == f"{today:%Y-%m}"
    assert sub["charges"]["to_date"] == f"{expected_charge(price, 2, n):.2f}"
    assert sub["charges"]["forecast"] == f"{expected_charge(price, 2 * left, n):.2f}"


async def test_xml_reads_and_problems(platform: Platform) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    xml_body = (
        f"<subscription><external_id>{ext()}</external_id><sku>{product['sku']}</sku>"
        "<quantity>1</quantity></subscription>"
    )
    answer = await platform.client.post(
        "/api/v1/subscriptions?wait=10",
        content=xml_body.encode(),
        headers={**partner.headers, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<vendor_tenant_id>T-" in answer.text
    missing = await platform.client.get(
        f"/api/v1/subscriptions/{uuid.uuid4()}",
        headers={**partner.headers, "Accept": "application/xml"},
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+xml")


# -- refusals -----------------------------------------------------------------------------------


async def test_another_partners_subscription_is_not_found(platform: Platform) -> None:
    owner = await platform.new_partner(limit=RICH)
    other = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    _, sub = await create(
        platform, owner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
    )
    for call in (
        platform.client.get(f"/api/v1/subscriptions/{sub['id']}", headers=other.headers),
        platform.client.post(f"/api/v1/subscriptions/{sub['id']}/cancel", headers=other.headers),
        platform.client.patch(
            f"/api/v1/subscriptions/{sub['id']}", json={"quantity": 2}, headers=other.headers
        ),
    ):
        answer = await call
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    listed = await platform.client.get("/api/v1/subscriptions", headers=other.headers)
    assert listed.json()["items"] == []
    assert (await read(platform, owner, sub["id"]))["status"] == "active"


async def test_intake_refusals_change_nothing(platform: Platform) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    key_product = await platform.product(lambda p: p["kind"] == "key")
    cases = [
        ({"sku": "NO-SUCH-SKU", "quantity": 1}, 422, "unknown_sku"),
        ({"sku": key_product["sku"], "quantity": 1}, 422, "not_a_subscription"),
        ({"sku": product["sku"], "quantity": 0}, 422, "invalid_quantity"),
        ({"sku": product["sku"], "quantity": "2"}, 422, "invalid_quantity"),
    ]
    for body, status, code in cases:
        answer_status, answer = await create(platform, partner, {"external_id": ext(), **body})
        assert (answer_status, answer["code"]) == (status, code), (body, answer)
    listed = await platform.client.get("/api/v1/subscriptions", headers=partner.headers)
    assert listed.json()["items"] == []


async def test_partner_not_live_may_only_test(platform: Platform, vendor: VendorStub) -> None:
    partner = await platform.new_partner(live=False, limit=RICH)
    product = await subscription_product(platform)
    status, refused = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
    )
    assert (status, refused["code"]) == (422, "partner_not_live")
    status, sub = await create(
        platform,
        partner,
        {"external_id": ext(), "sku": product["sku"], "quantity": 1, "test": True},
    )
    assert status == 201, sub
    assert sub["vendor_tenant_id"].startswith("TEST-")
    assert sub["charges"]["forecast"] == "0.00"
    assert (await vendor.stats())["subscriptions_created"] == 0  # no vendor for a test one


async def test_credit_refuses_a_subscription_or_an_increase_it_cannot_cover(
    platform: Platform,
) -> None:
    product = await subscription_product(platform)
    price = Decimal(product["price"])
    today = platform.services["orders"].clock.today_moscow()
    left = (last_day_of_month(today) - today).days + 1
    one_seat = expected_charge(price, left, days_in_month(today))
    # room for the month's forecast of 2 seats, not of 3
    partner = await platform.new_partner(limit=f"{one_seat * 2 + Decimal('0.01'):.2f}")
    status, refused = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 3}
    )
    assert (status, refused["code"]) == (422, "credit_limit_exceeded"), refused
    listed = await platform.client.get("/api/v1/subscriptions", headers=partner.headers)
    assert listed.json()["items"] == []
    status, sub = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2}
    )
    assert status == 201, sub
    status, refused = await act(platform, partner, sub["id"], "quantity", 3)
    assert (status, refused["code"]) == (422, "credit_limit_exceeded")
    status, sub = await act(platform, partner, sub["id"], "quantity", 1)  # a decrease is fine
    assert (status, sub["quantity"]) == (200, 1)


async def test_concurrent_creates_cannot_both_spend_the_same_credit(platform: Platform) -> None:
    product = await subscription_product(platform)
    price = Decimal(product["price"])
    today = platform.services["orders"].clock.today_moscow()
    left = (last_day_of_month(today) - today).days + 1
    one_seat = expected_charge(price, left, days_in_month(today))
    partner = await platform.new_partner(limit=f"{one_seat * 3:.2f}")  # 2 seats fit, not 4
    answers = await asyncio.gather(
        create(platform, partner, body(product, 2), wait=0),
        create(platform, partner, body(product, 2), wait=0),
    )
    assert sorted(status for status, _ in answers) == [201, 422], answers
    [(_, refused)] = [a for a in answers if a[0] == 422]
    assert refused["code"] == "credit_limit_exceeded"


# -- vendor failures and redeliveries -----------------------------------------------------------


async def test_vendor_failure_keeps_the_last_confirmed_state_visibly(
    platform: Platform, vendor: VendorStub, changed: ChangedFeed
) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    _, sub = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2}
    )
    assert sub["status"] == "active"
    await vendor.control(mode="fail")
    status, sub = await act(platform, partner, sub["id"], "quantity", 6)
    assert status == 200, sub
    assert (sub["status"], sub["quantity"], sub["vendor_error"]) == (
        "active",
        2,
        "vendor_unavailable",
    )
    assert sub["pending_change"] is None
    assert len(sub["history"]) == 1
    # a subscription the vendor never created fails, visibly, with nothing published
    status, failed = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 1}
    )
    assert status == 201
    assert (failed["status"], failed["vendor_tenant_id"], failed["vendor_error"]) == (
        "failed",
        None,
        "vendor_unavailable",
    )
    await vendor.control(mode="ok")
    status, sub = await act(platform, partner, sub["id"], "quantity", 6)
    assert (status, sub["quantity"], sub["vendor_error"]) == (200, 6, None)
    await asyncio.sleep(0.3)
    assert [e.sequence for e in changed.of(sub["id"])] == [1, 2]
    assert changed.of(failed["id"]) == []


async def test_redelivered_commands_double_nothing(
    platform: Platform, vendor: VendorStub, changed: ChangedFeed
) -> None:
    partner = await platform.new_partner(limit=RICH)
    product = await subscription_product(platform)
    _, sub = await create(
        platform, partner, {"external_id": ext(), "sku": product["sku"], "quantity": 2}
    )
    sub_id = uuid.UUID(sub["id"])
    queries = QueryClient(platform.settings.amqp_url, 10)
    await queries.start()
    connection = await aio_pika.connect_robust(platform.settings.amqp_url)
    try:
        # a suspend, confirmed; then a resume, confirmed; then the suspend is delivered again
        suspend = ChangeSubscription(
            correlation_id=sub_id,
            occurred_at=platform.services["orders"].clock.now(),
            subscription_id=sub_id,
            partner_id=uuid.UUID(partner.partner_id),
            action="suspend",
        )
        first = await queries.ask(suspend, SubscriptionAnswer)
        assert first.code is None
        await eventually(lambda: _settled(platform, partner, sub["id"]))
        assert (await act(platform, partner, sub["id"], "resume"))[1]["status"] == "active"
        again = await queries.ask(suspend, SubscriptionAnswer)  # same message id
        assert again.code is None
        assert again.subscription is not None
        assert (again.subscription.status, again.subscription.pending_change) == ("active", None)

        # the provisioning command delivered again, with its own id and with a new one
        channel = await connection.channel()
        exchange = await channel.get_exchange(ProvisionSubscription.exchange_name())
        requests_before = (await vendor.stats())["requests"]
        for message_id in (step_id(sub_id, "provision"), uuid.uuid4()):
            cmd = ProvisionSubscription(
                message_id=message_id,
                correlation_id=sub_id,
                occurred_at=platform.services["orders"].clock.now(),
                subscription_id=sub_id,
                change_id=step_id(sub_id, "create"),
                partner_id=uuid.UUID(partner.partner_id),
                sku=product["sku"],
                quantity=2,
            )
            await exchange.publish(
                aio_pika.Message(
                    cmd.model_dump_json().encode(),
                    message_id=str(message_id),
                    type=cmd.message_type(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=cmd.message_type(),
            )

        async def vendor_asked_again() -> bool:  # only the new message id reaches the vendor
            return bool((await vendor.stats())["requests"] >= requests_before + 1)

        await eventually(vendor_asked_again)
        await asyncio.sleep(1.0)
        stats = await vendor.stats()
        assert stats["requests"] == requests_before + 1
        assert stats["subscriptions_created"] == 1  # the vendor answered the same tenant
    finally:
        await connection.close()
        await queries.stop()
    after = await read(platform, partner, sub["id"])
    assert [h["change"] for h in after["history"]] == ["created", "suspended", "resumed"]
    assert [e.sequence for e in changed.of(sub["id"])] == [1, 2, 3]


async def _settled(platform: Platform, partner: Partner, sub_id: str) -> bool:
    return (await read(platform, partner, sub_id))["pending_change"] is None


# -- last: it moves the clock past a due date -----------------------------------------------


async def test_overdue_block_refuses_new_seats_but_never_suspends_a_running_subscription(
    platform: Platform,
) -> None:
    partner = await platform.new_partner(limit=RICH)
    await platform.set_credit(partner, RICH, term_days=1)
    product = await subscription_product(platform)
    status, running = await create(platform, partner, body(product, 2))
    assert status == 201, running
    key_product = await platform.product(lambda p: p["kind"] == "key" and not p["required_fields"])
    order = await platform.order(
        partner, {"external_id": ext(), "sku": key_product["sku"], "quantity": 1}
    )
    assert (await platform.final_order(partner, order["id"]))["status"] == "completed"
    await advance_days(platform, 3)

    async def blocked() -> bool:
        return bool((await platform.balance(partner))["blocked"])

    await eventually(blocked, timeout=15)
    status, refused = await create(platform, partner, body(product, 1))
    assert (status, refused["code"]) == (422, "partner_blocked_overdue")
    status, refused = await act(platform, partner, running["id"], "quantity", 3)
    assert (status, refused["code"]) == (422, "partner_blocked_overdue")
    still = await read(platform, partner, running["id"])
    assert (still["status"], still["quantity"]) == ("active", 2)
    status, fewer = await act(platform, partner, running["id"], "quantity", 1)
    assert (status, fewer["quantity"]) == (200, 1)
