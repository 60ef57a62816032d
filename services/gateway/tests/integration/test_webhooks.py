"""Signed callbacks of final orders: staging, signature, retries with backoff, the delivery
log, redelivery and ownership — against a tiny local HTTP receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from esd_contracts.orders.events import OrderCompleted, OrderRejected
from esd_platform.testing import isolated_settings
from gateway.adapters import webhooks as store
from gateway.bootstrap import create_app
from gateway.domain.webhooks import RetryPolicy
from gateway.runtime import Gateway
from gateway.service_layer.webhook_delivery import stage_callback
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client
from sqlalchemy import text

from services.gateway.tests.integration.helpers import (
    OPS_TOKEN,
    bearer,
    onboard,
    product,
    publish,
    scalar,
    seed_products,
    wait_for,
)

pytestmark = pytest.mark.integration

BACKOFF = 0.3
WINDOW = 2.5


@dataclass
class Call:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP/1.1 endpoint that answers ``fail_first`` calls per path with 500, then 200."""

    fail_first: dict[str, int] = field(default_factory=dict)
    calls: dict[str, list[Call]] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str, fail_first: int = 0) -> str:
        self.fail_first[path] = fail_first
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            calls = self.calls.setdefault(path, [])
            calls.append(Call(asyncio.get_running_loop().time(), headers, body))
            failing = len(calls) <= self.fail_first.get(path, 0)
            status = "500 Internal Server Error" if failing else "200 OK"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiver


@pytest.fixture(scope="module")
async def running() -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    """This module's gateway: backoff in fractions of a second, a retry window of seconds."""
    async with isolated_settings() as settings:
        app = create_app(
            settings,
            GatewaySettings(
                ops_token=OPS_TOKEN,
                query_timeout=2.0,
                webhook_backoff_base=BACKOFF,
                webhook_backoff_cap=5.0,
                webhook_retry_window=WINDOW,
                webhook_poll_interval=0.05,
                webhook_timeout=2.0,
                # no keys service in this module: the callbacks' keys are tested end to end
                # (tests/e2e/test_webhooks_flow.py)
                webhook_include_keys=False,
            ),
        )
        async with in_loop_client(app) as client:
            gateway = app.state.gateway
            await seed_products(gateway, product("KL-KIS-1Y"))
            yield client, gateway


class Partner:
    def __init__(self, client: httpx.AsyncClient, gateway: Gateway, approval: dict[str, Any]):
        self.client, self.gateway = client, gateway
        self.headers = bearer(approval["api_key"])
        self.partner_id = uuid.UUID(approval["partner_id"])
        self.secret = approval["webhook_secret"]

    async def order(self, **body: Any) -> uuid.UUID:
        payload = {"external_id": uuid.uuid4().hex, "sku": "KL-KIS-1Y", "quantity": 2, **body}
        response = await self.client.post("/api/v1/orders", json=payload, headers=self.headers)
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["id"])

    async def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/v1/webhooks/deliveries", params=params, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.fixture
async def partner(running: tuple[httpx.AsyncClient, Gateway]) -> Partner:
    client, gateway = running
    return Partner(client, gateway, await onboard(client))


def completed(order_id: uuid.UUID, partner_id: uuid.UUID) -> OrderCompleted:
    return OrderCompleted(
        correlation_id=order_id,
        occurred_at=datetime.now(UTC),
        order_id=order_id,
        partner_id=partner_id,
        amount=Decimal("3000.00"),
        key_count=2,
        completed_at=datetime.now(UTC),
    )


def verify(secret: str, call: Call) -> None:
    """What the README tells partners to do."""
    expected = hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-esd-signature"], f"sha256={expected}")
    stamped = call.headers["x-esd-timestamp"].encode() + b"." + call.body
    expected = hmac.new(secret.encode(), stamped, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-esd-timestamp-signature"], f"sha256={expected}")


async def rows_of(gateway: Gateway, order_id: uuid.UUID) -> int:
    return int(
        await scalar(
            gateway, "SELECT count(*) FROM webhook_deliveries WHERE order_id = :o", o=order_id
        )
    )


async def test_callback_arrives_signed_after_retries_with_backoff(
    partner: Partner, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/retry", fail_first=2)
    order_id = await partner.order(callback_url=url)
    await publish(partner.gateway, completed(order_id, partner.partner_id))

    async def delivered() -> bool:
        items = await partner.deliveries(order_id=str(order_id))
        return bool(items) and items[0]["status"] == "delivered"

    await wait_for(delivered, timeout=15)
    calls = receiver.calls["/hooks/retry"]
    assert len(calls) == 3
    for call in calls:
        verify(partner.secret, call)
        assert call.headers["x-esd-event"] == "order.completed"
        assert call.headers["content-type"] == "application/json"
    # the same bytes every time, under one delivery id
    assert len({c.body for c in calls}) == 1
    assert len({c.headers["x-esd-delivery"] for c in calls}) == 1
    # exponential backoff with jitter in the upper half: ≥ base/2, then ≥ base
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= BACKOFF / 2 - 0.05
    assert gaps[1] >= BACKOFF - 0.05
    body = json.loads(calls[0].body)
    assert body["id"] == str(order_id)
    assert body["status"] == "completed"
    assert body["quantity"] == 2
    assert body["amount"] == "3000.00"
    assert "keys" not in body  # keys off here (no keys service): see tests/e2e

    [item] = await partner.deliveries(order_id=str(order_id))
    assert item["id"] == calls[0].headers["x-esd-delivery"]
    assert item["event"] == "order.completed"
    assert item["attempts"] == 3
    assert item["last_response_code"] == 200
    assert item["last_error"] is None
    assert item["delivered_at"] is not None
    assert item["url"] == url


async def test_redelivered_final_event_makes_one_row(partner: Partner, receiver: Receiver) -> None:
    url = receiver.url("/hooks/once")
    order_id = await partner.order(callback_url=url)
    event = completed(order_id, partner.partner_id)
    await publish(partner.gateway, event)
    await publish(partner.gateway, event)  # the same message again
    await publish(partner.gateway, completed(order_id, partner.partner_id))  # a new one
    await wait_for(lambda: _has(partner, order_id, "delivered"), timeout=10)
    await asyncio.sleep(0.5)
    assert await rows_of(partner.gateway, order_id) == 1
    assert len(receiver.calls["/hooks/once"]) == 1
    # and the unique (order_id, event) holds even if staging ran again in a transaction
    async with partner.gateway.service.engine.begin() as conn:
        assert not await stage_callback(conn, order_id, datetime.now(UTC))
    assert await rows_of(partner.gateway, order_id) == 1


async def _has(partner: Partner, order_id: uuid.UUID, status: str) -> bool:
    items = await partner.deliveries(order_id=str(order_id))
    return bool(items) and items[0]["status"] == status


async def test_rejection_is_called_back_and_no_callback_url_means_no_row(
    partner: Partner, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/rejected")
    rejected = await partner.order(callback_url=url)
    silent = await partner.order()
    for order_id in (rejected, silent):
        await publish(
            partner.gateway,
            OrderRejected(
                correlation_id=order_id,
                occurred_at=datetime.now(UTC),
                order_id=order_id,
                partner_id=partner.partner_id,
                reason="credit_limit_exceeded",
            ),
        )
    await wait_for(lambda: _has(partner, rejected, "delivered"), timeout=10)
    [call] = receiver.calls["/hooks/rejected"]
    verify(partner.secret, call)
    assert call.headers["x-esd-event"] == "order.rejected"
    body = json.loads(call.body)
    assert body["status"] == "rejected"
    assert body["reason"] == "credit_limit_exceeded"

    async def silent_final() -> bool:
        status = await scalar(partner.gateway, "SELECT status FROM orders WHERE id = :o", o=silent)
        return bool(status == "rejected")

    await wait_for(silent_final)
    assert await rows_of(partner.gateway, silent) == 0


async def test_gives_up_after_the_window_then_redeliver_sends_again(
    partner: Partner, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/down", fail_first=1000)
    order_id = await partner.order(callback_url=url)
    await publish(partner.gateway, completed(order_id, partner.partner_id))
    await wait_for(lambda: _has(partner, order_id, "failed"), timeout=WINDOW + 10)
    [item] = await partner.deliveries(status="failed", order_id=str(order_id))
    attempts = item["attempts"]
    assert attempts >= 3
    assert attempts == len(receiver.calls["/hooks/down"])
    assert item["last_response_code"] == 500
    assert item["last_error"] == "HTTP 500"
    assert item["next_attempt_at"] is None
    # the last try falls on the window's end
    window = receiver.calls["/hooks/down"][-1].at - receiver.calls["/hooks/down"][0].at
    assert WINDOW - 0.3 <= window <= WINDOW + 1.5

    # the partner is back: redeliver → pending now → delivered with one more attempt
    receiver.fail_first["/hooks/down"] = 0
    response = await partner.client.post(
        f"/api/v1/webhooks/deliveries/{item['id']}/redeliver", headers=partner.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] in {"pending", "delivered"}
    await wait_for(lambda: _has(partner, order_id, "delivered"), timeout=10)
    [item] = await partner.deliveries(order_id=str(order_id))
    assert item["attempts"] == attempts + 1
    assert item["last_response_code"] == 200
    verify(partner.secret, receiver.calls["/hooks/down"][-1])


async def test_the_log_and_redeliver_are_the_partners_own(
    running: tuple[httpx.AsyncClient, Gateway],
    partner: Partner,
    receiver: Receiver,
) -> None:
    client, gateway = running
    other = Partner(client, gateway, await onboard(client))
    order_id = await partner.order(callback_url=receiver.url("/hooks/own"))
    await publish(gateway, completed(order_id, partner.partner_id))
    await wait_for(lambda: _has(partner, order_id, "delivered"), timeout=10)
    [item] = await partner.deliveries()

    assert await other.deliveries() == []
    assert await other.deliveries(order_id=str(order_id)) == []
    response = await client.post(
        f"/api/v1/webhooks/deliveries/{item['id']}/redeliver", headers=other.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = await client.post(
        f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/redeliver", headers=partner.headers
    )
    assert response.status_code == 404
    # nothing changed by the refused redeliver
    [again] = await partner.deliveries()
    assert again["status"] == "delivered"
    assert again["attempts"] == item["attempts"]

    as_xml = await client.get(
        "/api/v1/webhooks/deliveries", headers={**partner.headers, "Accept": "application/xml"}
    )
    assert as_xml.status_code == 200
    assert as_xml.headers["content-type"].startswith("application/xml")
    assert f"<id>{item['id']}</id>" in as_xml.text

    anonymous = await client.get("/api/v1/webhooks/deliveries")
    assert anonymous.status_code == 401
    bad = await client.get(
        "/api/v1/webhooks/deliveries", params={"status": "nope"}, headers=partner.headers
    )
    assert bad.status_code in {400, 422}
    assert await partner.deliveries(status="failed") == []


async def test_two_workers_never_claim_the_same_delivery(partner: Partner) -> None:
    """Two dispatchers' claims at the same moment take disjoint rows (SKIP LOCKED), and a
    claimed row is leased: not due again until the lease runs out."""
    engine = partner.gateway.service.engine
    later = datetime.now(UTC) + timedelta(hours=1)  # not due for this module's live dispatcher
    async with engine.begin() as conn:
        for _ in range(5):
            await store.stage(
                conn,
                partner_id=partner.partner_id,
                order_id=uuid.uuid4(),
                event="order.completed",
                url="http://127.0.0.1:9/never",
                body="{}",
                at=later,
            )
    moment, lease = later + timedelta(minutes=1), timedelta(seconds=60)
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        one = await store.claim_due(first, moment, lease, uuid.uuid4(), 3)
        two = await store.claim_due(second, moment, lease, uuid.uuid4(), 10)
        await first.commit()
        await second.commit()
    mine = {r.id for r in [*one, *two] if r.partner_id == partner.partner_id}
    assert len(one) == 3
    assert not {r.id for r in one} & {r.id for r in two}
    assert len(mine) == 5
    async with engine.begin() as conn:
        assert not await store.claim_due(conn, moment, lease, uuid.uuid4(), 10)
        again = await store.claim_due(conn, moment + lease, lease, uuid.uuid4(), 10)
        assert {r.id for r in again} >= mine
        await conn.execute(
            text("DELETE FROM webhook_deliveries WHERE partner_id = :p"),
            {"p": partner.partner_id},
        )


async def test_no_activation_code_or_secret_in_any_payload(
    running: tuple[httpx.AsyncClient, Gateway],
    receiver: Receiver,
) -> None:
    _, gateway = running
    await asyncio.sleep(0)  # runs last in the module: every delivery above is in the table
    async with gateway.service.engine.connect() as conn:
        bodies = (await conn.execute(text("SELECT body FROM webhook_deliveries"))).scalars().all()
        secrets = (await conn.execute(text("SELECT webhook_secret FROM partners"))).scalars().all()
    sent = [c.body.decode() for calls in receiver.calls.values() for c in calls]
    assert bodies
    assert sent
    for body in [*bodies, *sent]:
        payload = json.loads(body)
        assert "keys" not in payload
        assert "activation_code" not in body
        assert "TEST-" not in body
        for sealed in secrets:
            assert gateway.secret_box.open(sealed) not in body


def test_retry_policy_doubles_caps_and_ends_at_the_window() -> None:
    policy = RetryPolicy(
        base=timedelta(seconds=10), cap=timedelta(hours=1), window=timedelta(hours=24)
    )
    for streak, full in [(1, 10), (2, 20), (3, 40), (10, 3600), (60, 3600)]:
        delay = policy.delay(streak).total_seconds()
        assert full / 2 <= delay <= full
    start = datetime(2026, 11, 27, tzinfo=UTC)
    assert policy.next_attempt(start + timedelta(hours=24), start, 50) is None
    near_end = start + timedelta(hours=23, minutes=59)
    assert policy.next_attempt(near_end, start, 50) == start + timedelta(hours=24)
