"""RabbitMQ entry points of the keys service: contract in, use case called, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from esd_contracts.envelope import Message
from esd_contracts.keys.commands import IssueKeys, LoadKeyPool, PoolLoaded
from esd_contracts.keys.queries import (
    GetKeyStock,
    GetOrderKeys,
    GetVendorHealth,
    KeyStock,
    OrderKeys,
    VendorHealth,
)
from esd_contracts.topology import route
from esd_platform.messaging import answers, route_queue, topic_exchange
from esd_platform.service import Service
from faststream import AckPolicy
from faststream.rabbit import RabbitRouter

from keys.adapters.sources import Adapters, Sealer
from keys.service_layer import handlers, pool, vendor_health
from keys.settings import KeysSettings


def consumes(router: RabbitRouter, message: type[Message]) -> Callable[[Any], Any]:
    """``esd_platform.messaging.consumes`` plus an explicit ``NACK_ON_ERROR`` ack policy.

    FastStream 0.7.8 does not pass the broker's ``ack_policy`` down to subscribers: without
    this, a handler error *rejects* the message straight into the dead-letter queue on the first
    failure instead of requeueing it up to the delivery limit (seen in our tests; reported).
    """
    r = route("keys", message)

    return router.subscriber(
        route_queue(r),
        topic_exchange(r.exchange),
        title=r.queue,
        description=message.__doc__,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )


def build_router(
    service: Service, adapters: Adapters, sealer: Sealer, config: KeysSettings
) -> RabbitRouter:
    router = RabbitRouter()
    threshold = config.stock_low_threshold

    @consumes(router, IssueKeys)
    async def on_issue_keys(cmd: IssueKeys) -> None:
        await handlers.issue_keys(cmd, service.uow, adapters, service.clock, threshold)

    @answers(router, GetOrderKeys)
    async def on_get_order_keys(query: GetOrderKeys) -> OrderKeys:
        return await handlers.get_order_keys(query, service.uow, sealer.cipher)

    @answers(router, LoadKeyPool)
    async def on_load_key_pool(cmd: LoadKeyPool) -> PoolLoaded:
        return await pool.load_key_pool(cmd, service.uow, sealer, service.clock, threshold)

    @answers(router, GetKeyStock)
    async def on_get_key_stock(query: GetKeyStock) -> KeyStock:
        return await pool.key_stock(query, service.uow, threshold)

    @answers(router, GetVendorHealth)
    async def on_get_vendor_health(query: GetVendorHealth) -> VendorHealth:
        return await vendor_health.vendor_health(query, service.uow)

    return router
