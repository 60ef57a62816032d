"""The use cases straight on a real PostgreSQL, without the broker: what the handlers commit
(keys, outbox rows) under concurrency and repetition. The broker tests drive the same code over
RabbitMQ; these pin the database half on its own and run fast."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from esd_platform.clock import Clock
from esd_platform.settings import PlatformSettings
from esd_platform.testing import offline_unit_of_work
from esd_platform.uow import UnitOfWork
from keys.adapters.crypto import KeyCipher, KeyHasher, KeySigner
from keys.adapters.sources import (
    Adapters,
    GeneratedKeys,
    PoolContendedError,
    PoolKeys,
    Sealer,
    TestKeys,
)
from keys.adapters.vendor_api import VendorApiKeys
from keys.bootstrap import MIGRATIONS
from keys.service_layer import handlers
from keys.settings import KeysSettings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .conftest import issue_keys

pytestmark = pytest.mark.integration


class Db:
    def __init__(self, uow: UnitOfWork, adapters: Adapters, sealer: Sealer) -> None:
        self.uow = uow
        self.adapters = adapters
        self.sealer = sealer
        self.clock = Clock()

    async def issue(self, cmd: Any) -> None:
        """As the broker would: a transient fault is retried (here at once, a few times)."""
        for _ in range(20):
            try:
                await handlers.issue_keys(cmd, self.uow, self.adapters, self.clock, 0)
            except PoolContendedError:
                await asyncio.sleep(0.01)
                continue
            return
        raise AssertionError("pool stayed contended")

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.uow.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def answers(self, order_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
        rows = await self.rows(
            "SELECT message_type, body FROM outbox WHERE correlation_id = :o ORDER BY seq",
            o=str(order_id),
        )
        return [(r.message_type.split(".")[1], json.loads(r.body)) for r in rows]

    async def preload(self, sku: str, keys: list[str]) -> None:
        async with self.uow.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO pool_key (sku, key_hash, ciphertext, loaded_at) "
                    "VALUES (:sku, :h, :c, now())"
                ),
                [
                    {"sku": sku, "h": self.sealer.hasher.digest(k), "c": self.sealer.cipher.seal(k)}
                    for k in keys
                ],
            )


@pytest.fixture(scope="module")
async def db() -> AsyncIterator[Db]:
    base = os.environ.get("ESD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url)
    name = f"esd_test_keysdb_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = PlatformSettings(
        database_url=url.set(database=name).render_as_string(hide_password=False)
    )
    try:
        async with offline_unit_of_work(settings, "keys", MIGRATIONS) as uow:
            config = KeysSettings(keys_secret="k1:db-secret")
            sealer = Sealer(KeyCipher(config.keys_secret), KeyHasher(config.keys_hash_secret))
            adapters = Adapters(
                {
                    "test": TestKeys(sealer),
                    "generator": GeneratedKeys(sealer, KeySigner("db-seed")),
                    "pool": PoolKeys(),
                    "vendor_api": VendorApiKeys(sealer, config),
                }
            )
            yield Db(uow, adapters, sealer)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class TestIssueKeysOnTheDatabase:
    async def test_generator_order_commits_keys_and_one_event(self, db: Db) -> None:
        cmd = issue_keys(quantity=3)
        await db.issue(cmd)
        [(kind, body)] = await db.answers(cmd.order_id)
        assert kind == "KeysIssued"
        stored = await db.rows(
            "SELECT key_id FROM issued_key WHERE order_id = :o ORDER BY position", o=cmd.order_id
        )
        assert [str(r.key_id) for r in stored] == body["key_ids"]

    async def test_same_message_twice_has_one_effect(self, db: Db) -> None:
        cmd = issue_keys(quantity=2)
        await asyncio.gather(db.issue(cmd), db.issue(cmd))
        assert len(await db.answers(cmd.order_id)) == 1
        [(count,)] = await db.rows(
            "SELECT count(*) FROM issued_key WHERE order_id = :o", o=cmd.order_id
        )
        assert count == 2

    async def test_concurrent_requests_for_one_order_issue_one_set(self, db: Db) -> None:
        first = issue_keys(quantity=2)
        copies = [
            issue_keys(quantity=2, order_id=first.order_id, partner_id=first.partner_id)
            for _ in range(8)
        ]
        await asyncio.gather(*(db.issue(c) for c in copies))
        answers = await db.answers(first.order_id)
        assert len(answers) == 8
        assert len({tuple(b["key_ids"]) for _, b in answers}) == 1
        [(count,)] = await db.rows(
            "SELECT count(*) FROM issued_key WHERE order_id = :o", o=first.order_id
        )
        assert count == 2

    async def test_fifty_concurrent_pool_orders_take_every_key_once(self, db: Db) -> None:
        plain = [f"DB-{i:03d}" for i in range(90)]
        await db.preload("DB-POOL", plain)
        commands = [issue_keys(sku="DB-POOL", quantity=2, key_source="pool") for _ in range(50)]
        await asyncio.gather(*(db.issue(c) for c in commands))
        kinds = [(await db.answers(c.order_id))[0][0] for c in commands]
        assert kinds.count("KeysIssued") == 45
        assert kinds.count("KeysFailed") == 5
        claimed = await db.rows(
            "SELECT order_id, count(*) AS n FROM pool_key WHERE sku = 'DB-POOL' GROUP BY order_id"
        )
        assert sorted(r.n for r in claimed if r.order_id is not None) == [2] * 45
        issued = await db.rows(
            "SELECT k.ciphertext FROM issued_key k JOIN key_order o USING (order_id) "
            "WHERE o.sku = 'DB-POOL'"
        )
        assert sorted(db.sealer.cipher.open(r.ciphertext) for r in issued) == sorted(plain)

    async def test_short_pool_takes_nothing(self, db: Db) -> None:
        await db.preload("DB-SHORT", ["S-1", "S-2"])
        cmd = issue_keys(sku="DB-SHORT", quantity=3, key_source="pool")
        await db.issue(cmd)
        [(kind, body)] = await db.answers(cmd.order_id)
        assert (kind, body["reason"]) == ("KeysFailed", "out_of_stock")
        [(free,)] = await db.rows(
            "SELECT count(*) FROM pool_key WHERE sku = 'DB-SHORT' AND order_id IS NULL"
        )
        assert free == 2

    async def test_outbox_never_carries_a_key(self, db: Db) -> None:
        await db.preload("DB-SECRET", ["SECRET-KEY-TEXT"])
        cmd = issue_keys(sku="DB-SECRET", quantity=1, key_source="pool")
        await db.issue(cmd)
        assert "SECRET-KEY-TEXT" not in repr(await db.rows("SELECT * FROM outbox"))
        assert "SECRET-KEY-TEXT" not in repr(await db.rows("SELECT * FROM issued_key"))
