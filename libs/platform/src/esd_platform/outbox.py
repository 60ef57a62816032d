"""Transactional outbox: messages are rows written in the caller's transaction, relayed after.

Two ways out, one guarantee. The fast path: right after the transaction commits, the process
that wrote the rows publishes them itself (confirms awaited) and deletes them in a batch; no
second transaction and no wake-up hop before the message leaves. The relay is the safety net:
it takes rows older than :data:`GRACE` seconds (the fast path failed, or the process died between
commit and publish), and every row when a large batch was staged.

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
from dataclasses import dataclass
from typing import Any

from esd_contracts.envelope import Message
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esd_platform.db import Statement
from esd_platform.logging import get_logger
from esd_platform.tracing import continued, current_traceparent

log = get_logger("esd.outbox")

POLL_INTERVAL = 0.5
"""Seconds between looks for rows other processes left behind (crashed or restarted)."""

GRACE = 5.0
"""Rows younger than this belong to the fast path of the process that wrote them."""

BATCH = 200

FAST_MAX = 50
"""Transactions staging more messages than this (catalog imports, seeds) go through the relay."""

SWEEP_LINGER = 0.05
"""Seconds the sweeper waits after a fast-path send, so the sends of that moment share one
DELETE (far below GRACE: a sent row is never old enough for the relay to send it again)."""


class Outbox:
    """Stage messages in a transaction; a background relay publishes them."""

    def __init__(self, engine: AsyncEngine, broker: RabbitBroker, schema: str) -> None:
        self._engine = engine
        # one-statement work (the sweep's DELETE) without BEGIN/COMMIT round trips
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._broker = broker
        self._schema = schema
        self._wake = asyncio.Event()
        self._relay_all = False
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._sent: list[Any] = []
        self._swept = asyncio.Event()
        self._exchanges: dict[str, RabbitExchange] = {}
        self._insert = text(
            f'INSERT INTO "{schema}".outbox '
            "(id, exchange, routing_key, message_type, correlation_id, body, traceparent) "
            "VALUES (:id, :exchange, :routing_key, :message_type, :correlation_id, :body, "
            ":traceparent) "
            "ON CONFLICT (id) DO NOTHING"  # the same message staged twice is sent once
        )
        self._claim = text(
            f"SELECT id, exchange, routing_key, message_type, correlation_id, body, traceparent "
            f'FROM "{schema}".outbox WHERE created_at <= now() - make_interval(secs => :age) '
            f"ORDER BY seq LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
        )
        self._delete = text(f'DELETE FROM "{schema}".outbox WHERE id = ANY(:ids)')
        self._delete_ids = Statement(self._delete.text)  # the same, for the fast path's sweep

    def use_broker(self, broker: RabbitBroker) -> None:
        self._broker = broker

    async def stage(self, conn: AsyncConnection, messages: Sequence[Message]) -> None:
        """Write ``messages`` in the caller's transaction; they leave only if it commits."""
        if not messages:
            return
        await conn.execute(self._insert, outbox_rows(messages))

    def committed(
        self, messages: Sequence[Message], rows: list[dict[str, Any]] | None = None
    ) -> None:
        """The transaction that staged ``messages`` committed: send them now (fast path), or
        have the relay take a large batch at once. ``rows``: the rows it staged, if at hand."""
        if not messages:
            return
        if self._task is None or len(messages) > FAST_MAX:
            self.wake()
            return
        task = asyncio.create_task(self._send_now(rows or outbox_rows(messages)))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def wake(self) -> None:
        """Tell the relay to take every pending row now, young ones included."""
        self._relay_all = True
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")
        self._sweeper = asyncio.create_task(self._sweep(), name=f"outbox-sweep-{self._schema}")

    async def stop(self) -> None:
        """Stop relaying after a last pass, so nothing committed waits for the next start."""
        if self._task is None:
            return
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=10)
        for task in (self._task, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task, self._sweeper = None, None
        with contextlib.suppress(Exception):
            await self._delete_sent()
        with contextlib.suppress(Exception):
            await self.relay_pending()

    async def _send_now(self, rows: list[dict[str, Any]]) -> None:
        try:
            await asyncio.gather(*(self._publish(_Row(**row)) for row in rows))
        except asyncio.CancelledError:
            raise
        except Exception:
            # the rows stay; the relay sends them once they are older than GRACE
            log.warning("outbox_fast_path_failed", schema=self._schema, exc_info=True)
            return
        self._sent.extend(row["id"] for row in rows)
        self._swept.set()

    async def _sweep(self) -> None:
        """Delete rows the fast path sent, in batches (one statement for all that piled up)."""
        while True:
            await self._swept.wait()
            await asyncio.sleep(SWEEP_LINGER)
            self._swept.clear()
            try:
                await self._delete_sent()
            except asyncio.CancelledError:
                raise
            except Exception:  # they stay; the relay sends them again, the inbox drops them
                log.exception("outbox_sweep_failed", schema=self._schema)
                await asyncio.sleep(1.0)

    async def _delete_sent(self) -> None:
        ids, self._sent = self._sent, []
        if ids:
            async with self._autocommit.connect() as conn:  # one statement, one round trip
                driver = (await conn.get_raw_connection()).driver_connection
                await self._delete_ids.execute(driver, {"ids": ids})

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)
            self._wake.clear()
            relay_all, self._relay_all = self._relay_all, False
            try:
                await self.relay_pending(0.0 if relay_all else GRACE)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox_relay_failed", schema=self._schema)
                await asyncio.sleep(1.0)

    async def relay_pending(self, min_age: float = 0.0) -> int:
        """Publish every pending row at least ``min_age`` seconds old; returns how many."""
        total = 0
        while True:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(self._claim, {"age": min_age})).all()
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
        with continued(row.traceparent):  # the consumer's span continues the staging trace
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


@dataclass(frozen=True, slots=True)
class _Row:
    id: Any
    exchange: str
    routing_key: str
    message_type: str
    correlation_id: str
    body: str
    traceparent: str | None = None


def outbox_rows(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The outbox rows of ``messages``: bodies serialised once, in the staging trace context."""
    return [_row(message) for message in messages]


def _row(message: Message) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "exchange": message.exchange_name(),
        "routing_key": message.message_type(),
        "message_type": message.message_type(),
        "correlation_id": str(message.correlation_id),
        "body": message.model_dump_json(),
        "traceparent": current_traceparent(),
    }
