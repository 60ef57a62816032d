"""What the HTTP side of the gateway works with: the Service plus its HTTP-only adapters."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from esd_platform.delivery import DeliverySeal
from esd_platform.service import Service
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.queries import Queries
from gateway.adapters.read_caches import (
    AUTH_CHANNEL,
    BALANCE_CHANNEL,
    BalanceCache,
    FinalOrders,
    KeyCache,
)
from gateway.adapters.readiness import Probe
from gateway.adapters.secret_box import SecretBox
from gateway.adapters.waiters import OrderWaiters
from gateway.service_layer.webhook_delivery import WebhookDispatcher
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
    delivery: DeliverySeal
    """Opens the keys the keys service sealed for us (``esd_platform.delivery``)."""
    broker_running: bool = False
    """The embedded run: the service is attached to a shared broker started around it."""
    webhooks: WebhookDispatcher | None = None
    """Sends partners' signed callbacks; made from the settings at start unless given."""
    api_keys: KeyCache = field(default_factory=KeyCache)
    """Who each API key is, while the invalidation listener is up (``read_caches``)."""
    final_orders: FinalOrders = field(default_factory=FinalOrders)

    @functools.cached_property
    def balances(self) -> BalanceCache:
        return BalanceCache(self.settings.balance_cache_seconds)

    async def start(self) -> None:
        await self.service.start(broker_running=self.broker_running)
        self.waiters.listen(AUTH_CHANNEL, self.api_keys.on_notify, self.api_keys.listening)
        self.waiters.listen(BALANCE_CHANNEL, self.balances.on_notify, self.balances.listening)
        await self.waiters.start()
        await self.queries.start()
        if self.webhooks is None:
            self.webhooks = WebhookDispatcher(
                self.service, self.settings, self.secret_box, keys_of=self.keys_of
            )
        await self.webhooks.start()

    @functools.cached_property
    def reads(self) -> AsyncEngine:
        """The service's engine (same pool) for single-statement reads in autocommit: one round
        trip each instead of BEGIN, the statement and ROLLBACK. The API key lookup of every
        request and the order reads go through it; anything needing a snapshot of several
        statements keeps a transaction."""
        return self.service.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def keys_of(self, order_id: uuid.UUID, partner_id: uuid.UUID) -> list[dict[str, Any]]:
        """A completed order's keys with signed download links, as the API shows them."""
        from gateway.service_layer.ordering import keys_for  # ordering imports this module

        links = await keys_for(self, order_id, partner_id)
        return [msgspec.to_builtins(link) for link in links]

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.waiters.stop()
        await self.queries.stop()
        await self.probe.close()
        await self.service.stop()
