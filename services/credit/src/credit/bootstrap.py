"""Composition root of the credit service."""

from __future__ import annotations

from pathlib import Path

from esd_contracts.billing import finance
from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
    CreditTermsSet,
    PartnerBlocked,
    PartnerUnblocked,
    PaymentAllocated,
    PaymentReceived,
)
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from credit.entrypoints.consumers import build_router
from credit.service_layer.receivables import BlockSweeper


def build_service(settings: PlatformSettings | None = None) -> Service:
    service = Service(
        "credit", migrations=Path(__file__).resolve().parents[2] / "migrations", settings=settings
    )
    service.include(build_router(service.uow))
    service.publishes(
        CreditReserved,
        CreditRefused,
        CreditCaptured,
        CreditReleased,
        CreditTermsSet,
        PaymentReceived,
        PaymentAllocated,
        PartnerBlocked,
        PartnerUnblocked,
        *finance.RECEIVABLES_FEED,  # finance copies on finance.events (service_layer/feed.py)
    )
    sweeper = BlockSweeper(service.uow)

    async def start_sweeper(_: Service) -> None:
        sweeper.start()

    async def stop_sweeper(_: Service) -> None:
        await sweeper.stop()

    service.on_start(start_sweeper)
    service.on_stop(stop_sweeper)
    return service
