"""The services of esd, by name, for launching and documenting them together."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

BACKEND = ("catalog", "orders", "credit", "keys", "billing")
"""Services that run as their own processes (the gateway is served by granian)."""


def builder(name: str) -> Callable[[PlatformSettings | None], Service]:
    """``<name>.bootstrap.build_service``."""
    module = importlib.import_module(f"{name}.bootstrap")
    return module.build_service  # type: ignore[no-any-return]


async def migrate_all(settings: PlatformSettings | None = None) -> None:
    """Apply the migrations of every service (they also run at each service's start)."""
    from esd_platform.db import ensure_database
    from esd_platform.migrations import migrate

    settings = settings or PlatformSettings()
    await ensure_database(settings)
    for name in (*BACKEND, "gateway"):
        service = builder(name)(settings)
        try:
            await migrate(service.engine, service.schema, service.migrations)
        finally:
            await service.engine.dispose()
