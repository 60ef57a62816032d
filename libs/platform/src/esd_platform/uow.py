"""Unit of work: one database transaction that records the inbox, the effect and the outbox.

A consumer's handler runs inside :meth:`UnitOfWork.transaction` with the incoming message id.
The inbox row is inserted first; if it exists already the message was handled before and
``tx.duplicate`` is true, so the handler does nothing. Messages the handler publishes are
staged in the same transaction and relayed only after it commits. The message is acked only
after this block exits, that is after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from esd_contracts.envelope import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esd_platform.clock import Clock
from esd_platform.outbox import Outbox


@dataclass
class Transaction:
    """What a handler sees: the connection, whether this is a redelivery, and a publish list."""

    conn: AsyncConnection
    duplicate: bool = False
    staged: list[Message] = field(default_factory=list)

    def publish(self, *messages: Message) -> None:
        """Send ``messages`` if, and only if, this transaction commits."""
        self.staged.extend(messages)


class UnitOfWork:
    """Factory of transactions bound to one service's schema, outbox and clock."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox, schema: str, clock: Clock) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock = clock
        self._schema = schema
        self._inbox = text(
            f'INSERT INTO "{schema}".inbox (message_id) VALUES (:id) '
            "ON CONFLICT DO NOTHING RETURNING message_id"
        )

    @asynccontextmanager
    async def transaction(self, message_id: uuid.UUID | None = None) -> AsyncIterator[Transaction]:
        """Begin; dedupe ``message_id`` through the inbox; commit effects and outbox together."""
        async with self.engine.begin() as conn:
            tx = Transaction(conn)
            if message_id is not None:
                inserted = (await conn.execute(self._inbox, {"id": message_id})).first()
                tx.duplicate = inserted is None
            yield tx
            await self.outbox.stage(conn, tx.staged)
        self.outbox.committed(tx.staged)

    async def prune_inbox(self, older_than_days: int = 14) -> int:
        """Forget handled ids older than any redelivery could be; keeps the inbox small."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                text(
                    f'DELETE FROM "{self._schema}".inbox '
                    "WHERE handled_at < now() - make_interval(days => :days)"
                ),
                {"days": older_than_days},
            )
            return int(result.rowcount or 0)
