"""RabbitMQ entry points of the orders service: contract in, handler called, nothing else."""

from __future__ import annotations

from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
)
from esd_contracts.keys.events import KeysFailed, KeysIssued
from esd_contracts.orders.commands import CancelOrder, PlaceOrder
from esd_platform.messaging import consumes
from esd_platform.uow import UnitOfWork
from faststream.rabbit import RabbitRouter

from orders.adapters.memory import SagaMemory
from orders.service_layer import handlers


def build_router(uow: UnitOfWork) -> RabbitRouter:
    router = RabbitRouter()
    memory = SagaMemory()  # the sagas this process committed last: a reply needs no read

    @consumes(router, "orders", PlaceOrder)
    async def on_place_order(cmd: PlaceOrder) -> None:
        await handlers.place_order(cmd, uow, memory)

    @consumes(router, "orders", CancelOrder)
    async def on_cancel_order(cmd: CancelOrder) -> None:
        await handlers.apply_reply(cmd, uow, memory)

    @consumes(router, "orders", CreditReserved)
    async def on_credit_reserved(event: CreditReserved) -> None:
        await handlers.apply_reply(event, uow, memory)

    @consumes(router, "orders", CreditRefused)
    async def on_credit_refused(event: CreditRefused) -> None:
        await handlers.apply_reply(event, uow, memory)

    @consumes(router, "orders", KeysIssued)
    async def on_keys_issued(event: KeysIssued) -> None:
        await handlers.apply_reply(event, uow, memory)

    @consumes(router, "orders", KeysFailed)
    async def on_keys_failed(event: KeysFailed) -> None:
        await handlers.apply_reply(event, uow, memory)

    @consumes(router, "orders", CreditCaptured)
    async def on_credit_captured(event: CreditCaptured) -> None:
        await handlers.apply_reply(event, uow, memory)

    @consumes(router, "orders", CreditReleased)
    async def on_credit_released(event: CreditReleased) -> None:
        await handlers.apply_reply(event, uow, memory)

    return router
