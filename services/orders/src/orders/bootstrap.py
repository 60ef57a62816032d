"""Composition root of the orders service."""

from __future__ import annotations

from pathlib import Path

from esd_contracts.billing.commands import RecordShipment
from esd_contracts.credit.commands import ReleaseCredit, ReserveCredit
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderFailed,
    OrderRejected,
)
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.provisioning import ProvisionSubscription, UpdateVendorSubscription
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from orders.entrypoints.consumers import build_router
from orders.entrypoints.subscriptions import build_subscription_router


def build_service(settings: PlatformSettings | None = None) -> Service:
    service = Service(
        "orders", migrations=Path(__file__).resolve().parents[2] / "migrations", settings=settings
    )
    service.include(build_router(service.uow))
    service.include(build_subscription_router(service.uow))
    service.publishes(
        ReserveCredit,
        ReleaseCredit,
        IssueKeys,
        RecordShipment,
        OrderCompleted,
        OrderRejected,
        OrderFailed,
        OrderCancelled,
        CancellationRefused,
        ProvisionSubscription,
        UpdateVendorSubscription,
        SubscriptionChanged,
    )
    return service
