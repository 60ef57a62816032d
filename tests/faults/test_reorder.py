"""Duplicated and reordered deliveries over the whole saga.

Every command and reply of a few completed orders is captured on the bus (a spy queue bound to
the saga's exchanges), then published again, newest first: once as exact duplicates (same
message ids: the inboxes drop them) and once more, the replies only, as stale copies under new
message ids (an old event arriving after a newer one: the saga, past that step, ignores it).
Then a new order still completes, and the invariants hold for all of them: nothing is issued,
billed, reserved or captured a second time, no message is dead-lettered, no outbox holds one."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest
from esd_cli import ops
from esd_platform.testing import isolated_settings

from tests.faults.harness import check_invariants, place, run_load
from tests.support import running_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAGA_EXCHANGES = (
    "orders.commands",
    "credit.commands",
    "credit.events",
    "keys.commands",
    "keys.events",
    "billing.commands",
    "billing.events",
)
REPLIES = ("credit.events", "keys.events", "billing.events")


async def test_duplicated_and_reordered_saga_messages_change_nothing() -> None:
    async with isolated_settings() as settings, running_platform(settings) as platform:
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            spy = await channel.declare_queue(exclusive=True, auto_delete=True)
            for name in SAGA_EXCHANGES:
                exchange = await channel.get_exchange(name)
                await spy.bind(exchange, routing_key="#")

            load = await run_load(platform, 3, {}, prefix="reorder")
            for order_id in load.order_ids.values():
                final = await platform.final_order(load.partner, order_id, timeout=60)
                assert final["status"] == "completed"

            ours = {str(o) for o in load.order_ids.values()}
            captured: list[aio_pika.abc.AbstractIncomingMessage] = []
            while (message := await spy.get(no_ack=True, fail=False, timeout=5)) is not None:
                if message.correlation_id in ours:
                    captured.append(message)
            kinds = {m.type for m in captured}
            assert {"credit.CreditReserved.v1", "keys.KeysIssued.v1"} <= kinds, kinds

            async def again(message: aio_pika.abc.AbstractIncomingMessage, fresh: bool) -> None:
                body, message_id = message.body, message.message_id
                if fresh:  # the same fact, re-sent as a new message
                    message_id = str(uuid.uuid4())
                    decoded = json.loads(body)
                    decoded["message_id"] = message_id
                    body = json.dumps(decoded).encode()
                exchange = await channel.get_exchange(message.exchange or "")
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        correlation_id=message.correlation_id,
                        type=message.type,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=message.routing_key or "",
                )

            newest_first = list(reversed(captured))
            for message in newest_first:  # duplicates, in reverse order
                await again(message, fresh=False)
            for message in newest_first:  # stale replies after newer ones, new message ids
                if message.exchange in REPLIES:
                    await again(message, fresh=True)

        # the platform still works, after the replays and through the same queues
        external_id = f"reorder-after-{uuid.uuid4().hex[:6]}"
        load.external_ids.append(external_id)
        await place(platform.client, load, external_id)
        await platform.final_order(load.partner, load.order_ids[external_id], timeout=60)
        await asyncio.sleep(2.0)  # the replays behind it have been handled too
        await check_invariants(platform, load)
        assert await ops.dlq_list(settings) == []
