"""What the HTTP side of the gateway works with: the Service plus its HTTP-only adapters."""

from __future__ import annotations

from dataclasses import dataclass

from esd_platform.service import Service

from gateway.adapters.queries import Queries
from gateway.adapters.readiness import Probe
from gateway.adapters.secret_box import SecretBox
from gateway.adapters.waiters import OrderWaiters
from gateway.settings import GatewaySettings


@dataclass
class Gateway:
    """Held in the Litestar app's state; controllers get it through ``provide_gateway``."""

    service: Service
    settings: GatewaySettings
    waiters: OrderWaiters
    queries: Queries
    probe: Probe
    secret_box: SecretBox
    broker_running: bool = False
    """The embedded run: the service is attached to a shared broker started around it."""

    async def start(self) -> None:
        await self.service.start(broker_running=self.broker_running)
        await self.waiters.start()
        await self.queries.start()

    async def stop(self) -> None:
        await self.waiters.stop()
        await self.queries.stop()
        await self.probe.close()
        await self.service.stop()
