"""RabbitMQ entry points of subscription provisioning (the orders service asks, keys calls the
vendor's subscription API and answers)."""

from __future__ import annotations

from esd_contracts.subscriptions.provisioning import (
    ProvisionSubscription,
    SubscriptionProvisioned,
    UpdateVendorSubscription,
    VendorSubscriptionFailed,
)
from esd_platform.service import Service
from faststream.rabbit import RabbitRouter

from keys.adapters.vendor_subscriptions import VendorSubscriptions
from keys.entrypoints.consumers import consumes
from keys.service_layer import subscriptions
from keys.settings import KeysSettings


def build_subscription_router(service: Service, config: KeysSettings) -> RabbitRouter:
    """The router, its vendor client closed when the service stops."""
    router = RabbitRouter()
    vendor = VendorSubscriptions(config)

    @consumes(router, ProvisionSubscription)
    async def on_provision(cmd: ProvisionSubscription) -> None:
        await subscriptions.provision(cmd, service.uow, vendor)

    @consumes(router, UpdateVendorSubscription)
    async def on_update(cmd: UpdateVendorSubscription) -> None:
        await subscriptions.provision(cmd, service.uow, vendor)

    async def close(_: Service) -> None:
        await vendor.close()

    service.on_stop(close)
    service.publishes(SubscriptionProvisioned, VendorSubscriptionFailed)
    return router
