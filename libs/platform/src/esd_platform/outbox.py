"""Transactional outbox: messages are rows written in the caller's transaction, relayed after.

The relay claims rows with ``FOR UPDATE SKIP LOCKED`` (so several instances of a service never
publish the same row at once), publishes them persistent and mandatory with publisher confirms,
and deletes them only after every confirm arrived. A crash between publish and delete publishes
again with the same ``message_id``, which the consumer's inbox drops: at-least-once on the wire,
exactly-once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from esd_contracts.envelope import Message
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esd_platform.logging import get_logger

log = get_logger("esd.outbox")

POLL_INTERVAL = 0.5
"""Seconds between looks for rows other processes left behind (crashed or restarted)."""

BATCH = 200


class Outbox:
    """Stage messages in a transaction; a background relay publishes them."""

    def __init__(self, engine: AsyncEngine, broker: RabbitBroker, schema: str) -> None:
        self._engine = engine
        self._broker = broker
        self._schema = schema
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._exchanges: dict[str, RabbitExchange] = {}
        self._insert = text(
            f'INSERT INTO "{schema}".outbox '
            "(id, exchange, routing_key, message_type, correlation_id, body) "
            "VALUES (:id, :exchange, :routing_key, :message_type, :correlation_id, :body) "
            "ON CONFLICT (id) DO NOTHING"  # the same message staged twice is sent once
        )
        self._claim = text(
            f"SELECT id, exchange, routing_key, message_type, correlation_id, body "
            f'FROM "{schema}".outbox ORDER BY seq LIMIT {BATCH} FOR UPDATE SKIP LOCKED'
        )
        self._delete = text(f'DELETE FROM "{schema}".outbox WHERE id = ANY(:ids)')

    async def stage(self, conn: AsyncConnection, messages: Sequence[Message]) -> None:
        """Write ``messages`` in the caller's transaction; they leave only if it commits."""
        if not messages:
            return
        await conn.execute(self._insert, [_row(m) for m in messages])

    def wake(self) -> None:
        """Tell the relay that a transaction with staged messages just committed."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop relaying after a last pass, so nothing committed waits for the next start."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(Exception):
            await self.relay_pending()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)
            self._wake.clear()
            try:
                await self.relay_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox_relay_failed", schema=self._schema)
                await asyncio.sleep(1.0)

    async def relay_pending(self) -> int:
        """Publish every pending row; returns how many were relayed."""
        total = 0
        while True:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(self._claim)).all()
                if not rows:
                    return total
                await asyncio.gather(*(self._publish(row) for row in rows))
                await conn.execute(self._delete, {"ids": [row.id for row in rows]})
            total += len(rows)
            if len(rows) < BATCH:
                return total

    async def _publish(self, row: Any) -> None:
        exchange = self._exchanges.get(row.exchange)
        if exchange is None:
            exchange = RabbitExchange(row.exchange, type=ExchangeType.TOPIC, durable=True)
            self._exchanges[row.exchange] = exchange
        await self._broker.publish(
            row.body.encode(),
            exchange=exchange,
            routing_key=row.routing_key,
            persist=True,
            mandatory=True,
            timeout=10,
            content_type="application/json",
            message_id=str(row.id),
            correlation_id=row.correlation_id,
            message_type=row.message_type,
        )

    async def backlog(self) -> int:
        """Rows not yet relayed (a metric and a test assertion)."""
        async with self._engine.connect() as conn:
            result = await conn.execute(text(f'SELECT count(*) FROM "{self._schema}".outbox'))
            return int(result.scalar_one())


def _row(message: Message) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "exchange": message.exchange_name(),
        "routing_key": message.message_type(),
        "message_type": message.message_type(),
        "correlation_id": str(message.correlation_id),
        "body": message.model_dump_json(),
    }
