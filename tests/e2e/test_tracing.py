"""One order is one trace: the gateway's request span, and the consumer spans of orders, credit,
keys and billing for that order's saga, all carry one trace id, over the real broker and through
every service's transactional outbox (OpenTelemetry, spans to an in-memory exporter)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from esd_platform.testing import isolated_settings, traced, wait_for
from opentelemetry.trace import SpanKind

from tests.support import running_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROUTING_KEY = "messaging.rabbitmq.destination.routing_key"

# the saga's hops: (consumer service, routing key of what it consumes)
HOPS = {
    "orders": "orders.PlaceOrder.v1",
    "credit": "credit.ReserveCredit.v1",
    "keys": "keys.IssueKeys.v1",
    "billing": "billing.RecordShipment.v1",
    "credit (capture)": "billing.ShipmentRecorded.v1",
    "gateway": "orders.OrderCompleted.v1",
}


async def test_one_order_is_one_trace_from_the_gateway_to_billing() -> None:
    with traced() as exporter:
        async with isolated_settings() as settings, running_platform(settings) as platform:
            partner = await platform.new_partner()
            product = await platform.product(
                lambda p: (
                    p["kind"] == "key" and not p["required_fields"] and Decimal(p["price"]) < 1000
                )
            )
            exporter.clear()
            order = await platform.order(
                partner,
                {
                    "external_id": f"trace-{uuid.uuid4().hex[:8]}",
                    "sku": product["sku"],
                    "quantity": 1,
                },
            )
            final = await platform.final_order(partner, order["id"], timeout=60)
            assert final["status"] == "completed"

            # A consumer's span ends after its handler has committed, and the order reads
            # `completed` from that commit: the gateway's OrderCompleted span may still be open
            # for a moment, so wait for every hop's span to finish.
            # (consumer spans only: each hop's producer span, with the same routing key, ends
            # before its message is even delivered)
            async def every_hop_finished() -> bool:
                finished = {
                    s.attributes.get(ROUTING_KEY)
                    for s in exporter.get_finished_spans()
                    if s.kind == SpanKind.CONSUMER
                }
                return set(HOPS.values()) <= finished

            await wait_for(every_hop_finished, timeout=10, what="every hop's span finished")
            spans = exporter.get_finished_spans()
            (request,) = [
                s
                for s in spans
                if s.kind == SpanKind.SERVER and "POST" in s.name and "/orders" in s.name
            ]
            trace_id = request.context.trace_id
            consumed = {
                s.attributes.get(ROUTING_KEY)
                for s in spans
                if s.kind == SpanKind.CONSUMER and s.context.trace_id == trace_id
            }
            missing = {hop: key for hop, key in HOPS.items() if key not in consumed}
            assert not missing, f"hops outside the order's trace: {missing}; in it: {consumed}"
            # and nothing of this order's saga ran in a trace of its own
            strays = {
                s.attributes.get(ROUTING_KEY)
                for s in spans
                if s.kind == SpanKind.CONSUMER
                and s.context.trace_id != trace_id
                and s.attributes.get("messaging.message.conversation_id") == order["id"]
            }
            assert not strays, f"the order's messages in another trace: {strays}"
