"""Readiness of the platform as the gateway needs it: every queue it sends to has a consumer."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from esd_contracts.billing.commands import RecordShipment
from esd_contracts.billing.queries import GetDocuments
from esd_contracts.credit.commands import ReserveCredit
from esd_contracts.credit.queries import GetBalance
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.keys.queries import GetOrderKeys
from esd_contracts.orders.commands import PlaceOrder
from esd_contracts.topology import query_queue, route
from esd_platform.messaging import RECONNECT_INTERVAL

DEPENDENCY_QUEUES: tuple[str, ...] = (
    route("orders", PlaceOrder).queue,
    route("credit", ReserveCredit).queue,
    route("keys", IssueKeys).queue,
    route("billing", RecordShipment).queue,
    query_queue(GetBalance),
    query_queue(GetOrderKeys),
    query_queue(GetDocuments),
)


class Probe(Protocol):
    async def missing_consumers(self) -> list[str]: ...

    async def close(self) -> None: ...


class InProcessProbe:
    """The embedded run: every service is in this process, started before the gateway."""

    async def missing_consumers(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


class DependencyProbe:
    """Passive-declares each queue on a fresh channel (a missing queue closes the channel)."""

    def __init__(self, amqp_url: str) -> None:
        self._amqp_url = amqp_url
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    async def _conn(self) -> AbstractRobustConnection:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect_robust(
                    self._amqp_url, timeout=3, reconnect_interval=RECONNECT_INTERVAL
                )
            return self._connection

    async def missing_consumers(self) -> list[str]:
        """Queues nobody consumes (or that do not exist); empty when all is well."""
        connection = await self._conn()
        missing: list[str] = []
        for name in DEPENDENCY_QUEUES:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
                if not queue.declaration_result.consumer_count:
                    missing.append(name)
            except aio_pika.exceptions.ChannelClosed:
                missing.append(name)
            finally:
                with contextlib.suppress(Exception):
                    await channel.close()
        return missing

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
