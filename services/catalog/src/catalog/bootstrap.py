"""The catalog's composition root."""

from __future__ import annotations

from pathlib import Path

from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from catalog.entrypoints.consumers import build_router
from catalog.service_layer.seeding import seed_demo_catalog
from catalog.settings import CatalogSettings


def build_service(
    settings: PlatformSettings | None = None, catalog_settings: CatalogSettings | None = None
) -> Service:
    service = Service(
        "catalog",
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        settings=settings,
    )
    service.include(build_router(service))
    options = catalog_settings or CatalogSettings()

    async def seed(svc: Service) -> None:
        await seed_demo_catalog(
            svc.uow,
            svc.clock,
            with_products=options.seed_demo,
            compact=options.demo_size == "compact",
        )

    service.on_start(seed)
    return service
