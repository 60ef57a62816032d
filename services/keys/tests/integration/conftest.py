"""A running keys service on an isolated database and vhost, and a harness to drive it the way
the orders service and the gateway do: IssueKeys in, KeysIssued/KeysFailed out, queries."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
import pytest
from esd_contracts.envelope import Message
from esd_contracts.keys.commands import IssueKeys, LoadKeyPool, PoolLoaded
from esd_contracts.keys.queries import GetKeyStock, GetOrderKeys, KeyStock, OrderKeys
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import ask, isolated_settings, publish, wait_for
from keys.adapters.crypto import KeyCipher, KeyHasher
from keys.bootstrap import MIGRATIONS, build_service
from keys.settings import KeysSettings
from pydantic import BaseModel
from sqlalchemy import text

R = TypeVar("R", bound=BaseModel)


class Harness:
    """Publishes commands, records the events the keys service answers with, asks queries."""

    def __init__(
        self, settings: PlatformSettings, keys_settings: KeysSettings, service: Service
    ) -> None:
        self.settings = settings
        self.keys_settings = keys_settings
        self.service = service
        self.cipher = KeyCipher(keys_settings.keys_secret)
        self.hasher = KeyHasher(keys_settings.keys_hash_secret)
        self.events: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.stock_low: list[dict[str, Any]] = []
        self.seen_message_ids: set[str | None] = set()
        self.redelivered = 0
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def listen(self) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url)
        channel = await self._connection.channel()
        for name in ("orders.KeysIssued", "orders.KeysFailed"):
            queue = await channel.declare_queue(name, passive=True)
            await queue.consume(self._record, no_ack=True)
        stock_low = await channel.declare_queue("gateway.StockLow", passive=True)
        await stock_low.consume(self._record_stock_low, no_ack=True)

    async def _record_stock_low(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.stock_low.append(json.loads(message.body))

    async def _record(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        # Like the orders service's inbox: the wire is at-least-once (an outbox relay cut off
        # by a shutdown publishes its row again, with the same message id), effects are once.
        if message.message_id in self.seen_message_ids:
            self.redelivered += 1
            return
        self.seen_message_ids.add(message.message_id)
        body = json.loads(message.body)
        kind = (message.type or "").split(".")[1]
        self.events[uuid.UUID(body["order_id"])].append((kind, body))

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, message: Message) -> None:
        await publish(self.service.broker, message)

    async def outcome(
        self, order_id: uuid.UUID, count: int = 1
    ) -> list[tuple[str, dict[str, Any]]]:
        async def arrived() -> bool:
            return len(self.events[order_id]) >= count

        await wait_for(arrived, what=f"{count} answer(s) for order {order_id}")
        return self.events[order_id]

    async def query(self, query: Message, answer: type[R]) -> R:
        return await ask(self.service.broker, query, answer)

    async def order_keys(self, order_id: uuid.UUID, partner_id: uuid.UUID) -> OrderKeys:
        query = GetOrderKeys(
            correlation_id=order_id,
            occurred_at=datetime.now(UTC),
            order_id=order_id,
            partner_id=partner_id,
        )
        return await self.query(query, OrderKeys)

    async def load_pool(
        self, sku: str, keys: list[str], low_threshold: int | None = None
    ) -> PoolLoaded:
        """Ops' LoadKeyPool over request/reply, as the gateway sends it."""
        request = LoadKeyPool(
            correlation_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            sku=sku,
            keys=tuple(keys),
            low_threshold=low_threshold,
        )
        return await self.query(request, PoolLoaded)

    async def stock(self, sku: str | None = None) -> KeyStock:
        query = GetKeyStock(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), sku=sku)
        return await self.query(query, KeyStock)

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.service.engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())

    async def preload_pool(self, sku: str, plain_keys: list[str]) -> None:
        """Put keys in a pool directly (as ops' loading does), sealed like the service seals."""
        async with self.service.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO pool_key (sku, key_hash, ciphertext, loaded_at) "
                    "VALUES (:sku, :h, :c, now())"
                ),
                [
                    {"sku": sku, "h": self.hasher.digest(k), "c": self.cipher.seal(k)}
                    for k in plain_keys
                ],
            )


def issue_keys(
    *,
    sku: str = "GEN-1",
    quantity: int = 1,
    key_source: str = "generator",
    test: bool = False,
    order_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    vendor: str = "",
) -> IssueKeys:
    oid = order_id or uuid.uuid4()
    return IssueKeys(
        correlation_id=oid,
        occurred_at=datetime.now(UTC),
        order_id=oid,
        partner_id=partner_id or uuid.uuid4(),
        sku=sku,
        quantity=quantity,
        test=test,
        key_source=key_source,
        vendor=vendor,
    )


@asynccontextmanager
async def running_harness(**keys_overrides: Any) -> AsyncIterator[Harness]:
    """A keys service on a fresh database and vhost, with ``keys_overrides`` in its settings."""
    async with isolated_settings() as settings:
        keys_settings = KeysSettings(keys_secret="k1:integration-secret", **keys_overrides)
        service = build_service(settings, keys_settings)
        await service.start()
        h = Harness(settings, keys_settings, service)
        await h.listen()
        try:
            yield h
        finally:
            await h.close()
            await service.stop()


@asynccontextmanager
async def probe_harness(**keys_overrides: Any) -> AsyncIterator[Harness]:
    """Like :func:`running_harness` but with no keys consumer in this process: the database is
    migrated and the topology declared, and keys workers are started by the test itself."""
    async with isolated_settings() as settings:
        keys_settings = KeysSettings(keys_secret="k1:integration-secret", **keys_overrides)
        service = Service("keys", migrations=MIGRATIONS, settings=settings)
        await service.start()
        h = Harness(settings, keys_settings, service)
        await h.listen()
        try:
            yield h
        finally:
            await h.close()
            await service.stop()


@pytest.fixture(scope="session")
async def harness() -> AsyncIterator[Harness]:
    """One platform for the tests that need default settings (each uses its own skus and
    orders): creating vhosts with dozens of quorum queues is the slow part of these tests."""
    async with running_harness() as h:
        yield h


ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VendorStub:
    """``python -m deploy.vendor_stub`` in a subprocess, steered over its control API."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: asyncio.subprocess.Process | None = None
        self._client = httpx.AsyncClient(base_url=self.url, timeout=5)

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.vendor_stub", "--port", str(self.port), cwd=ROOT
        )

        async def up() -> bool:
            try:
                return (await self._client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(up, what="vendor stub up")

    async def stop(self) -> None:
        await self._client.aclose()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()

    async def control(self, **behaviour: Any) -> None:
        (await self._client.post("/control", json=behaviour)).raise_for_status()

    async def reset(self) -> None:
        (await self._client.post("/control/reset")).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        return dict((await self._client.get("/control")).json()["stats"])


@pytest.fixture(scope="session")
async def vendor_stub() -> AsyncIterator[VendorStub]:
    stub = VendorStub()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()
