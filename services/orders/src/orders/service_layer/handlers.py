"""Use cases of the orders service: start a saga, apply a reply. One transaction each."""

from __future__ import annotations

from esd_contracts.envelope import Message
from esd_contracts.orders.commands import PlaceOrder
from esd_platform.logging import get_logger
from esd_platform.observability import observe_saga
from esd_platform.uow import UnitOfWork

from orders.adapters import repository
from orders.adapters.memory import SagaMemory
from orders.domain.saga import FINAL, OrderSaga

log = get_logger("esd.orders")


async def place_order(cmd: PlaceOrder, uow: UnitOfWork, memory: SagaMemory | None = None) -> None:
    """Accept an order into its saga (once, whatever the redeliveries) and send the first step."""
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        saga, messages = OrderSaga.accept(cmd, uow.clock.now())
        if not await repository.add(tx.driver, saga, PlaceOrder.__name__):
            log.warning("order_already_accepted", order_id=str(cmd.order_id))
            return
        tx.publish(*messages)
        log.info("order_accepted", order_id=str(cmd.order_id), state=saga.state.value)
    if memory is not None:  # committed
        memory.keep(saga)


async def apply_reply(message: Message, uow: UnitOfWork, memory: SagaMemory | None = None) -> None:
    """Apply a service's reply (or a cancel) to the order's saga.

    From the saga this process last committed when it has it (no read; the version guard of the
    write catches a saga moved meanwhile), else from the row, read under a lock. A remembered
    saga whose transaction fails for any reason is applied once more the long way.
    """
    order_id = message.order_id  # type: ignore[attr-defined]
    remembered = memory.take(order_id) if memory is not None else None
    if remembered is not None and memory is not None:
        try:
            await _apply(message, uow, memory, remembered)
        except Exception:
            memory.used(up_to_date=False)
            log.info("remembered_saga_out_of_date", order_id=str(order_id), exc_info=True)
        else:
            memory.used(up_to_date=True)
            return
    await _apply(message, uow, memory, None)


async def _apply(
    message: Message, uow: UnitOfWork, memory: SagaMemory | None, saga: OrderSaga | None
) -> None:
    order_id = message.order_id  # type: ignore[attr-defined]
    took: float | None = None
    async with uow.transaction(message.message_id) as tx:
        if tx.duplicate:
            if saga is not None and memory is not None:
                memory.keep(saga)  # unchanged
            return
        if saga is None:
            saga = await repository.get_for_update(tx.conn, order_id)
        if saga is None:
            log.warning("reply_for_unknown_order", order_id=str(order_id))
            return
        before = saga.state
        messages = saga.handle(message, uow.clock.now())
        started = None
        if saga.state in FINAL and saga.state is not before:
            # the saga's start comes back for the duration metric of a saga that ends here
            started = await repository.save(tx.driver, saga, type(message).__name__)
        elif saga.state is not before or messages:
            repository.save_at_commit(tx, saga, type(message).__name__)
        tx.publish(*messages)
        if saga.state is not before:
            log.info(
                "saga_transition",
                order_id=str(order_id),
                state=saga.state.value,
                previous=before.value,
                passed=[state.value for state in saga.passed],
                cause=type(message).__name__,
            )
            if saga.state in FINAL and started is not None:  # once per order, by outcome
                took = (uow.clock.now() - started).total_seconds()
    # committed
    if memory is not None:
        memory.keep(saga)
    if took is not None:
        observe_saga(saga.state.value, took)
