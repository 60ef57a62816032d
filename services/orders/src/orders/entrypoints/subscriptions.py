"""RabbitMQ entry points of the subscription module: the gateway's commands and queries
(request/reply) and the keys service's answers from the vendor."""

from __future__ import annotations

from esd_contracts.subscriptions.commands import (
    ChangeSubscription,
    CreateSubscription,
    GetSubscription,
    ListSubscriptions,
    SubscriptionAnswer,
    SubscriptionList,
)
from esd_contracts.subscriptions.provisioning import (
    SubscriptionProvisioned,
    VendorSubscriptionFailed,
)
from esd_platform.messaging import answers, consumes
from esd_platform.uow import UnitOfWork
from faststream.rabbit import RabbitRouter

from orders.service_layer import subscriptions


def build_subscription_router(uow: UnitOfWork) -> RabbitRouter:
    router = RabbitRouter()

    @answers(router, CreateSubscription)
    async def on_create(cmd: CreateSubscription) -> SubscriptionAnswer:
        return await subscriptions.create(cmd, uow)

    @answers(router, ChangeSubscription)
    async def on_change(cmd: ChangeSubscription) -> SubscriptionAnswer:
        return await subscriptions.change(cmd, uow)

    @answers(router, GetSubscription)
    async def on_get(query: GetSubscription) -> SubscriptionAnswer:
        return await subscriptions.get(query, uow)

    @answers(router, ListSubscriptions)
    async def on_list(query: ListSubscriptions) -> SubscriptionList:
        return await subscriptions.list_of(query, uow)

    @consumes(router, "orders", SubscriptionProvisioned)
    async def on_provisioned(event: SubscriptionProvisioned) -> None:
        await subscriptions.vendor_answered(event, uow)

    @consumes(router, "orders", VendorSubscriptionFailed)
    async def on_vendor_failed(event: VendorSubscriptionFailed) -> None:
        await subscriptions.vendor_answered(event, uow)

    return router
