"""The database engine: one PostgreSQL database, one schema per service.

Connections carry ``lock_timeout`` and ``idle_in_transaction_session_timeout`` so that a
cancelled task can never leave a transaction holding row locks for long (SQLAlchemy #8145).
``synchronous_commit`` stays on: money and keys survive a crash once acknowledged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TypeAlias

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from esd_platform.settings import PlatformSettings

BURSTY = frozenset({"gateway"})
"""Services whose load arrives in bursts from outside (HTTP intake): they keep a larger pool,
and it may overflow."""

BURST_KEPT = 3
"""A bursty service keeps this many times ``db_pool_size`` connections open once it needed them.
With only ``db_pool_size`` kept, the gateway under 32 orders in flight opened and closed 356–391
backends per 2,000 orders (bench/orders.py), PostgreSQL forking and authenticating each, and each
preparing its statements anew: about 1 ms of PostgreSQL's CPU per order. Keeping three times as
many, it opened 25–27 in all."""


def create_engine(settings: PlatformSettings, service: str, schema: str) -> AsyncEngine:
    """An async engine whose connections look in ``schema`` first."""
    return create_async_engine(
        settings.sqlalchemy_url,
        # no pre-ping round trip per checkout: a dead connection fails its statement and the
        # message is nacked and redelivered (or the HTTP call answers 503). Overflow covers
        # bursts beyond what the gateway keeps: opened and closed with the burst. A consumer's
        # load is steady and bounded by its prefetch, and there overflow connections were
        # opened and closed all the time (40 new backends/s in bench/orders.py, each a fork,
        # a connect handshake and a TLS probe): its handlers wait for a pooled connection
        pool_size=settings.db_pool_size * (BURST_KEPT if service in BURSTY else 1),
        max_overflow=settings.db_pool_size if service in BURSTY else 0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": f"esd-{service}",
                "search_path": f"{schema},public",
                "lock_timeout": "5s",
                "idle_in_transaction_session_timeout": "30s",
            }
        },
    )


def admin_connect_args(settings: PlatformSettings) -> dict[str, Any]:
    """asyncpg arguments for the server's ``postgres`` database (TCP or a unix socket path)."""
    url = make_url(settings.sqlalchemy_url)
    host = url.host or url.query.get("host")
    return {
        "host": host if isinstance(host, str) else None,
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password or None,
        "database": "postgres",
    }


async def ensure_database(settings: PlatformSettings) -> None:
    """Create the configured database if the server does not have it yet."""
    url = make_url(settings.sqlalchemy_url)
    name = url.database or "esd"
    admin = await asyncpg.connect(**admin_connect_args(settings))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # another service may create it at the same moment: the loser of that race gets
            # DuplicateDatabaseError, or a unique violation on pg_database when both passed
            # the catalog check together
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]


Db: TypeAlias = AsyncConnection | asyncpg.Connection
"""Where a :class:`Statement` runs: a SQLAlchemy connection, or the driver's own connection."""


class Record(asyncpg.Record):  # type: ignore[misc]  # asyncpg ships no type hints
    """A row from :class:`Statement`: by name (``row["sku"]``) as asyncpg's own, and also as an
    attribute (``row.sku``) as SQLAlchemy's ``Row``, so code that reads rows need not know which
    of the two ran the statement."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Statement:
    """A statement with ``:named`` parameters, run on the driver's own connection.

    For the statements every order runs (bench/RESULTS.md): SQLAlchemy's ``execute`` costs a
    greenlet, an execution context and a result object per call, a sixth of a service's CPU per
    order (150–200 µs of the client's CPU per statement, against asyncpg's 55–75). SQLAlchemy
    still compiles the text, once, at import (the same ``$n`` SQL its asyncpg dialect would
    send), and asyncpg runs it from its own statement cache. Rows come back as :class:`Record`.
    """

    __slots__ = ("_names", "_text", "sql")

    def __init__(self, sql: str) -> None:
        self._text = text(sql)
        compiled = self._text.compile(dialect=_ASYNCPG)
        self.sql: str = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())

    async def first(self, db: Db, params: Mapping[str, Any]) -> Any:
        """The first row or None, on either connection.

        On the driver (a unit of work's ``tx.driver``) it runs directly. On a SQLAlchemy
        connection it goes through SQLAlchemy: there the transaction may be one SQLAlchemy has
        begun but not yet sent, and only SQLAlchemy's own ``execute`` sends its BEGIN first.
        """
        if isinstance(db, AsyncConnection):
            return (await db.execute(self._text, params)).first()
        return await self.fetchrow(db, params)

    async def all(self, db: Db, params: Mapping[str, Any]) -> list[Any]:
        """Every row, on either connection (as :meth:`first`)."""
        if isinstance(db, AsyncConnection):
            return list((await db.execute(self._text, params)).all())
        return await self.fetch(db, params)

    def _args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self._names]

    async def fetchrow(self, driver: asyncpg.Connection, params: Mapping[str, Any]) -> Any:
        return await driver.fetchrow(self.sql, *self._args(params), record_class=Record)

    async def fetchval(self, driver: asyncpg.Connection, params: Mapping[str, Any]) -> Any:
        return await driver.fetchval(self.sql, *self._args(params))

    async def fetch(self, driver: asyncpg.Connection, params: Mapping[str, Any]) -> list[Any]:
        return list(await driver.fetch(self.sql, *self._args(params), record_class=Record))

    async def execute(self, driver: asyncpg.Connection, params: Mapping[str, Any]) -> str:
        """Run it for its effect; the command tag (``"UPDATE 1"``)."""
        return str(await driver.execute(self.sql, *self._args(params)))
