"""Use cases of the orders service: start a saga, apply a reply. One transaction each."""

from __future__ import annotations

from esd_contracts.envelope import Message
from esd_contracts.orders.commands import PlaceOrder
from esd_platform.logging import get_logger
from esd_platform.observability import observe_saga
from esd_platform.uow import UnitOfWork

from orders.adapters import repository
from orders.domain.saga import FINAL, OrderSaga

log = get_logger("esd.orders")


async def place_order(cmd: PlaceOrder, uow: UnitOfWork) -> None:
    """Accept an order into its saga (once, whatever the redeliveries) and send the first step."""
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        saga, messages = OrderSaga.accept(cmd, uow.clock.now())
        if not await repository.add(tx.conn, saga, PlaceOrder.__name__):
            log.warning("order_already_accepted", order_id=str(cmd.order_id))
            return
        tx.publish(*messages)
        log.info("order_accepted", order_id=str(cmd.order_id), state=saga.state.value)


async def apply_reply(message: Message, uow: UnitOfWork) -> None:
    """Apply a service's reply (or a cancel) to the order's saga under a row lock."""
    order_id = message.order_id  # type: ignore[attr-defined]
    took: float | None = None
    async with uow.transaction(message.message_id) as tx:
        if tx.duplicate:
            return
        saga = await repository.get_for_update(tx.conn, order_id)
        if saga is None:
            log.warning("reply_for_unknown_order", order_id=str(order_id))
            return
        before = saga.state
        messages = saga.handle(message, uow.clock.now())
        started = None
        if saga.state in FINAL and saga.state is not before:
            # the saga's start comes back for the duration metric of a saga that ends here
            started = await repository.save(tx.conn, saga, type(message).__name__)
        elif saga.state is not before or messages:
            repository.save_at_commit(tx, saga, type(message).__name__)
        tx.publish(*messages)
        if saga.state is not before:
            log.info(
                "saga_transition",
                order_id=str(order_id),
                state=saga.state.value,
                previous=before.value,
                cause=type(message).__name__,
            )
            if saga.state in FINAL and started is not None:  # once per order, by outcome
                took = (uow.clock.now() - started).total_seconds()
    if took is not None:  # committed
        observe_saga(saga.state.value, took)
