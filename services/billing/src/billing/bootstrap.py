"""Composition root of the billing service."""

from __future__ import annotations

from pathlib import Path

from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.billing.finance import DocumentClosed, DocumentLineAdded, SubscriptionCharged
from esd_contracts.credit.commands import ChargeSubscription
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from billing.adapters.edo import EdoOperator, operator_from
from billing.entrypoints.background import Clockwork
from billing.entrypoints.consumers import build_router
from billing.service_layer.issuer import Issuer
from billing.settings import BillingSettings


def build_service(
    settings: PlatformSettings | None = None,
    billing_settings: BillingSettings | None = None,
    *,
    edo_operator: EdoOperator | None = None,
) -> Service:
    """The billing service; ``edo_operator`` overrides the configured one (tests)."""
    billing_settings = billing_settings or BillingSettings()
    service = Service(
        "billing", migrations=Path(__file__).resolve().parents[2] / "migrations", settings=settings
    )
    issuer = Issuer.from_settings(billing_settings)
    operator = edo_operator or operator_from(billing_settings.edo_adapter, billing_settings.edo_dir)
    service.include(build_router(service.uow, issuer))
    # What leaves through the outbox, for the AsyncAPI document: the saga's reply and the
    # finance feed on its own durable exchange (finance.events).
    # The month-end charge: SubscriptionCharged (finance) and ChargeSubscription (credit's debt).
    service.publishes(
        ShipmentRecorded, DocumentLineAdded, DocumentClosed, SubscriptionCharged, ChargeSubscription
    )
    clockwork = Clockwork(service, billing_settings, issuer, operator)
    if billing_settings.background:
        service.on_start(clockwork.start)
        service.on_stop(clockwork.stop)
    return service
