"""What the HTTP side of the gateway works with: the Service plus its HTTP-only adapters."""

from __future__ import annotations

from dataclasses import dataclass

from esd_platform.service import Service

from gateway.adapters.queries import QueryClient
from gateway.adapters.readiness import DependencyProbe
from gateway.adapters.secret_box import SecretBox
from gateway.adapters.waiters import OrderWaiters
from gateway.settings import GatewaySettings


@dataclass
class Gateway:
    """Held in the Litestar app's state; controllers get it through ``provide_gateway``."""

    service: Service
    settings: GatewaySettings
    waiters: OrderWaiters
    queries: QueryClient
    probe: DependencyProbe
    secret_box: SecretBox

    async def start(self) -> None:
        await self.service.start()
        await self.waiters.start()
        await self.queries.start()

    async def stop(self) -> None:
        await self.waiters.stop()
        await self.queries.stop()
        await self.probe.close()
        await self.service.stop()
