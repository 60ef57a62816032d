"""Faults on the bus, one service: a poison message parks in its dead-letter queue after the
delivery limit while good messages on the same queue keep flowing; a duplicated delivery has
one effect. The parked message is visible to ops (`esd dlq`, esd_queue_messages{queue=...dlq})."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aio_pika
import httpx
import pytest
from credit.bootstrap import build_service
from esd_cli import ops
from esd_contracts.credit.commands import ReserveCredit
from esd_contracts.topology import DELIVERY_LIMIT, route
from esd_platform.messaging import topic_exchange
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings, publish, wait_for

from tests.deploy.test_metrics import value
from tests.support import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUEUE = route("credit", ReserveCredit).queue
DLQ = route("credit", ReserveCredit).dead_letter_queue


@pytest.fixture
async def credit(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[PlatformSettings, Service, str]]:
    port = free_port()
    monkeypatch.setenv("ESD_METRICS_PORT", str(port))
    monkeypatch.setenv("ESD_METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("ESD_METRICS_INTERVAL", "0.5")
    async with isolated_settings() as settings:
        service = build_service(settings)
        await service.start()
        try:
            yield settings, service, f"http://127.0.0.1:{port}"
        finally:
            await service.stop()


def reserve(order_id: uuid.UUID | None = None) -> ReserveCredit:
    order_id = order_id or uuid.uuid4()
    return ReserveCredit(
        correlation_id=order_id,
        occurred_at=datetime.now(UTC),
        order_id=order_id,
        partner_id=uuid.uuid4(),  # unknown partner: credit answers CreditRefused
        amount=Decimal("100.00"),
    )


async def refusals(settings: PlatformSettings) -> list[dict[str, object]]:
    """CreditRefused replies waiting for the orders service (not running here)."""
    found = []
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("orders.CreditRefused", passive=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(json.loads(message.body))
    return found


async def test_poison_message_parks_in_its_dlq_and_the_queue_keeps_flowing(
    credit: tuple[PlatformSettings, Service, str],
) -> None:
    settings, service, metrics = credit
    poison_id = str(uuid.uuid4())
    await service.broker.publish(
        b'{"this is": "not a ReserveCredit"',
        exchange=topic_exchange(ReserveCredit.exchange_name()),
        routing_key=ReserveCredit.message_type(),
        persist=True,
        content_type="application/json",
        message_id=poison_id,
        correlation_id=str(uuid.uuid4()),
        message_type=ReserveCredit.message_type(),
    )
    good = reserve()
    await publish(service.broker, good)

    # the good message is handled while the poison one is being retried
    replies: list[dict[str, object]] = []

    async def refused() -> bool:
        replies.extend(await refusals(settings))
        return any(r["order_id"] == str(good.order_id) for r in replies)

    await wait_for(refused, timeout=10, what="the good message handled")

    async def parked() -> bool:
        return await ops.dlq_list(settings) == [{"queue": DLQ, "origin": QUEUE, "messages": 1}]

    # 8 deliveries with a growing delay (0.1 s doubling, at most 5 s): about 16 s
    await wait_for(parked, timeout=60, what="the poison message in its DLQ")
    (shown,) = await ops.dlq_show(settings, DLQ)
    assert shown["message_id"] == poison_id
    assert shown["reason"] == "delivery_limit"
    assert shown["body"] == '{"this is": "not a ReserveCredit"'

    async with httpx.AsyncClient(base_url=metrics, timeout=5) as http:

        async def visible() -> bool:
            body = (await http.get("/metrics")).text
            return (
                value(body, "esd_queue_messages", queue=DLQ) == 1
                and value(body, "esd_queue_messages", queue=QUEUE) == 0
            )

        await wait_for(visible, timeout=10, what="the DLQ depth on /metrics")
        body = (await http.get("/metrics")).text
        handler = f"{ReserveCredit.exchange_name()}.{ReserveCredit.message_type()}"
        failed = value(
            body,
            "faststream_received_processed_messages_total",
            app_name="credit",
            handler=handler,
            status="error",
        )
        assert failed is not None
        assert failed >= DELIVERY_LIMIT


async def test_a_duplicated_delivery_has_one_effect(
    credit: tuple[PlatformSettings, Service, str],
) -> None:
    settings, service, _ = credit
    command = reserve()
    for _ in range(3):  # the same message (same message_id) delivered three times
        await publish(service.broker, command)
    later = reserve()
    await publish(service.broker, later)  # a marker: handled after the three copies

    replies: list[dict[str, object]] = []

    async def marker_seen() -> bool:
        replies.extend(await refusals(settings))
        return any(r["order_id"] == str(later.order_id) for r in replies)

    await wait_for(marker_seen, timeout=15, what="the later message handled")
    assert [r["order_id"] for r in replies].count(str(command.order_id)) == 1
