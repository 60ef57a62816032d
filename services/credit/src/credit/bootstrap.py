"""Composition root of the credit service."""

from __future__ import annotations

from pathlib import Path

from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
    CreditTermsSet,
)
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from credit.entrypoints.consumers import build_router


def build_service(settings: PlatformSettings | None = None) -> Service:
    service = Service(
        "credit", migrations=Path(__file__).resolve().parents[2] / "migrations", settings=settings
    )
    service.include(build_router(service.uow))
    service.publishes(CreditReserved, CreditRefused, CreditCaptured, CreditReleased, CreditTermsSet)
    return service
