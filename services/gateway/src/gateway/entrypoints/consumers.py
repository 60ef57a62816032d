"""RabbitMQ entry points of the gateway: the product and price-rule replicas, orders' outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from esd_contracts.catalog.events import PriceRuleChanged, ProductChanged
from esd_contracts.credit.events import (
    CreditTermsSet,
    PartnerBlocked,
    PartnerUnblocked,
    PaymentAllocated,
    PaymentReceived,
)
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderFailed,
    OrderRejected,
)
from esd_platform.messaging import consumes
from esd_platform.uow import UnitOfWork
from faststream.rabbit import RabbitRouter
from sqlalchemy import Row, text

from gateway.adapters import catalog, repository
from gateway.adapters.feed_cache import cache_for
from gateway.adapters.read_caches import BALANCE_NOTIFY_SQL
from gateway.adapters.waiters import NOTIFY_SQL
from gateway.service_layer.webhook_delivery import stage_callback

_NOTIFY = text(NOTIFY_SQL)
_BALANCE_NOTIFY = text(BALANCE_NOTIFY_SQL)


def build_router(
    uow: UnitOfWork, on_final: Callable[[Row[Any]], None] | None = None
) -> RabbitRouter:
    """``on_final(row)``: told each order that became final here, once it is committed and
    before its waiters (woken by the commit's notification) read it."""
    router = RabbitRouter()
    feeds = cache_for(uow.engine)

    async def finalize(
        message_id: uuid.UUID, order_id: uuid.UUID, status: str, **values: object
    ) -> None:
        async with uow.transaction(message_id) as tx:
            if tx.duplicate:
                return
            # waiters wake and the partner's balance is read again once this commits
            row = await repository.finalize_order(tx.driver, order_id, status, **values)  # type: ignore[arg-type]
            if row is not None:
                # the partner's callback commits with the outcome, or not at all
                await stage_callback(tx.conn, order_id, uow.clock.now(), row=row)
        if row is not None and on_final is not None:
            on_final(row)

    @consumes(router, "gateway", ProductChanged)
    async def on_product_changed(event: ProductChanged) -> None:
        async with uow.transaction(event.message_id) as tx:
            if tx.duplicate:
                return
            await catalog.upsert_product(tx.conn, event)
        feeds.changed()  # committed: render the feeds shops poll, before they ask

    @consumes(router, "gateway", PriceRuleChanged)
    async def on_price_rule_changed(event: PriceRuleChanged) -> None:
        # partner prices (catalog, feeds, order intake) come from this replica of the rules
        async with uow.transaction(event.message_id) as tx:
            if tx.duplicate:
                return
            await catalog.upsert_price_rule(tx.conn, event)
        feeds.changed()

    @consumes(router, "gateway", OrderCompleted)
    async def on_order_completed(event: OrderCompleted) -> None:
        await finalize(
            event.message_id,
            event.order_id,
            "completed",
            completed_at=event.completed_at,
            document_number=event.document_number,
            sealed_keys=event.sealed_keys,
        )

    @consumes(router, "gateway", OrderRejected)
    async def on_order_rejected(event: OrderRejected) -> None:
        await finalize(event.message_id, event.order_id, "rejected", reason=event.reason)

    @consumes(router, "gateway", OrderFailed)
    async def on_order_failed(event: OrderFailed) -> None:
        await finalize(event.message_id, event.order_id, "failed", reason=event.reason)

    @consumes(router, "gateway", OrderCancelled)
    async def on_order_cancelled(event: OrderCancelled) -> None:
        await finalize(event.message_id, event.order_id, "cancelled")

    @consumes(router, "gateway", CancellationRefused)
    async def on_cancellation_refused(event: CancellationRefused) -> None:
        async with uow.transaction(event.message_id) as tx:
            if tx.duplicate:
                return
            await repository.mark_cancel_refused(tx.conn, event.order_id)
            await tx.conn.execute(_NOTIFY, {"order_id": str(event.order_id)})

    async def balance_changed(partner_id: uuid.UUID) -> None:
        # a notification is idempotent: no inbox row; acked once PostgreSQL has sent it
        async with uow.engine.connect() as conn:
            await conn.execute(_BALANCE_NOTIFY, {"partner_id": str(partner_id)})
            await conn.commit()

    @consumes(router, "gateway", CreditTermsSet)
    async def on_terms_set(event: CreditTermsSet) -> None:
        await balance_changed(event.partner_id)

    @consumes(router, "gateway", PaymentReceived)
    async def on_payment_received(event: PaymentReceived) -> None:
        await balance_changed(event.partner_id)

    @consumes(router, "gateway", PaymentAllocated)
    async def on_payment_allocated(event: PaymentAllocated) -> None:
        await balance_changed(event.partner_id)

    @consumes(router, "gateway", PartnerBlocked)
    async def on_partner_blocked(event: PartnerBlocked) -> None:
        await balance_changed(event.partner_id)

    @consumes(router, "gateway", PartnerUnblocked)
    async def on_partner_unblocked(event: PartnerUnblocked) -> None:
        await balance_changed(event.partner_id)

    return router
