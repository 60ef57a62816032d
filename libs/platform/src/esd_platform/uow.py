"""Unit of work: one database transaction that records the inbox, the effect and the outbox.

A consumer's handler runs inside :meth:`UnitOfWork.transaction` with the incoming message id.
The inbox row is inserted first; if it exists already the message was handled before and
``tx.duplicate`` is true, so the handler does nothing. Messages the handler publishes are
staged in the same transaction and relayed only after it commits. The message is acked only
after this block exits, that is after the commit.

Round trips are what a hop costs (bench/RESULTS.md), so the transaction's edges are folded:
``BEGIN`` travels with the inbox insert, and the outbox insert (and any write the handler put
off until then, :meth:`Transaction.at_commit`) with ``COMMIT``, each as one
simple-protocol query on the driver's connection (values inlined: the message id is a UUID, the
outbox's texts dollar-quoted under a random tag that none of them contains). The connection is
in SQLAlchemy's autocommit mode, so SQLAlchemy sends no BEGIN/COMMIT of its own, and the
handler's statements run inside this explicit transaction. A transaction that cannot be ended
cleanly (an error in the rollback, a cancellation mid-statement) closes its connection, so no
pooled connection is ever handed out inside a stale transaction.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from esd_contracts.envelope import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.outbox import Outbox, outbox_rows

log = get_logger("esd.uow")


@dataclass
class Transaction:
    """What a handler sees: the connection, whether this is a redelivery, and a publish list."""

    conn: AsyncConnection
    driver: Any
    """The same connection's asyncpg connection, for :class:`esd_platform.db.Statement`."""
    duplicate: bool = False
    staged: list[Message] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    def publish(self, *messages: Message) -> None:
        """Send ``messages`` if, and only if, this transaction commits."""
        self.staged.extend(messages)

    def at_commit(self, sql: str) -> None:
        """Run ``sql`` just before COMMIT, in the commit's own round trip.

        For a write whose result the handler does not need. ``sql`` is sent as it is (simple
        protocol, no parameters): every value in it must be inlined safely (:func:`dollar_tag`
        for texts). If it fails, the transaction rolls back like any other failure.
        """
        self.deferred.append(sql)


class UnitOfWork:
    """Factory of transactions bound to one service's schema, outbox and clock."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox, schema: str, clock: Clock) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock = clock
        self._schema = schema
        # the same pool; SQLAlchemy leaves transaction control to :meth:`transaction`
        self._manual = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._outbox_columns = (
            f'INSERT INTO "{schema}".outbox '
            "(id, exchange, routing_key, message_type, correlation_id, body, traceparent) VALUES "
        )

    @asynccontextmanager
    async def transaction(self, message_id: uuid.UUID | None = None) -> AsyncIterator[Transaction]:
        """Begin; dedupe ``message_id`` through the inbox; commit effects and outbox together."""
        async with self._manual.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                if message_id is None:
                    await driver.execute("BEGIN")
                    tx = Transaction(conn, driver)
                else:
                    status = await driver.execute(self._begin_with_inbox(message_id))
                    tx = Transaction(conn, driver, duplicate=status.endswith(" 0"))
                yield tx
                rows = outbox_rows(tx.staged)
                await driver.execute(self._commit_with_outbox(rows, tx.deferred))
            except Exception:
                await _abandon(conn, driver)
                raise
            except BaseException:  # cancelled, perhaps mid-statement: the server rolls back
                await conn.invalidate()
                raise
        self.outbox.committed(tx.staged, rows)

    def reading(self) -> AsyncConnection:
        """A connection for a one-statement read (``async with uow.reading() as conn``): no
        BEGIN/ROLLBACK around it, one round trip where ``engine.connect()`` costs three. Several
        statements on it do not share a snapshot."""
        return self._manual.connect()

    def _begin_with_inbox(self, message_id: uuid.UUID) -> str:
        checked = uuid.UUID(str(message_id))  # only a UUID's own characters are ever inlined
        return (
            f"BEGIN; INSERT INTO \"{self._schema}\".inbox (message_id) VALUES ('{checked}') "
            "ON CONFLICT DO NOTHING"
        )

    def _commit_with_outbox(
        self, rows: Sequence[dict[str, Any]], deferred: Sequence[str] = ()
    ) -> str:
        first = "".join(f"{sql}; " for sql in deferred)
        if not rows:
            return f"{first}COMMIT"
        values = [
            (
                row["exchange"],
                row["routing_key"],
                row["message_type"],
                row["correlation_id"],
                row["body"],
                row["traceparent"],
            )
            for row in rows
        ]
        tag = dollar_tag(value for texts in values for value in texts if value is not None)
        tuples = ", ".join(
            f"('{uuid.UUID(str(row['id']))}', "
            + ", ".join("NULL" if value is None else f"{tag}{value}{tag}" for value in texts)
            + ")"
            for row, texts in zip(rows, values, strict=True)
        )
        # the same message staged twice is sent once
        return f"{first}{self._outbox_columns}{tuples} ON CONFLICT (id) DO NOTHING; COMMIT"

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


def dollar_tag(values: Any) -> str:
    """A dollar-quote tag that occurs in none of ``values`` (so none can end the quote)."""
    texts = list(values)
    while True:
        tag = f"$q{secrets.token_hex(6)}$"
        if not any(tag in value for value in texts):
            return tag


async def _abandon(conn: AsyncConnection, driver: Any) -> None:
    """Roll the explicit transaction back, or close the connection if that cannot be done."""
    try:
        if driver.is_in_transaction():  # not after a failed COMMIT: that ended it already
            await driver.execute("ROLLBACK")
    except BaseException:
        log.warning("uow_rollback_failed_connection_closed", exc_info=True)
        await conn.invalidate()
