"""Composition root of the billing service."""

from __future__ import annotations

from pathlib import Path

from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from billing.entrypoints.consumers import build_router


def build_service(settings: PlatformSettings | None = None) -> Service:
    service = Service(
        "billing", migrations=Path(__file__).resolve().parents[2] / "migrations", settings=settings
    )
    service.include(build_router(service.uow))
    return service
