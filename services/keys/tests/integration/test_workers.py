"""Keys workers as separate processes (``python -m keys``) sharing one queue: a worker killed
with SIGKILL mid-order loses and duplicates nothing; SIGTERM drains the order in hand."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest
from esd_platform.testing import wait_for

from .conftest import Harness, VendorStub, issue_keys, probe_harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Worker:
    """One ``python -m keys`` process on the harness's database and vhost."""

    def __init__(self, harness: Harness, stub: VendorStub, log: Path) -> None:
        self.harness = harness
        self.stub = stub
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        settings, keys = self.harness.settings, self.harness.keys_settings
        env = {
            **os.environ,
            "ESD_ENV": "test",
            "ESD_DATABASE_URL": settings.database_url,
            "ESD_AMQP_URL": settings.amqp_url,
            "ESD_KEYS_SECRET": keys.keys_secret,
            "ESD_VENDOR_API_URL": self.stub.url,
            "ESD_VENDOR_TIMEOUT": "3",
            "ESD_VENDOR_RETRY_BUDGET": "8",
            "ESD_PREFETCH": "4",
            "ESD_LOG_LEVEL": "INFO",
        }
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "keys", env=env, stdout=out, stderr=out
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def consumers(harness: Harness) -> int:
    connection = await aio_pika.connect(harness.settings.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("keys.IssueKeys", passive=True)
        return int(queue.declaration_result.consumer_count or 0)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def probe() -> AsyncIterator[Harness]:
    async with probe_harness() as harness:
        yield harness


# what ``two_workers`` yields: the harness, the vendor stub and the two running workers
TwoWorkers = tuple[Harness, VendorStub, list[Worker]]


@pytest.fixture
async def two_workers(
    probe: Harness, vendor_stub: VendorStub, tmp_path: Path
) -> AsyncIterator[TwoWorkers]:
    await vendor_stub.reset()
    workers = [Worker(probe, vendor_stub, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        for worker in workers:
            await worker.start()

        async def both_consuming() -> bool:
            return await consumers(probe) == 2

        await wait_for(both_consuming, timeout=60, what="two keys workers consuming")
        yield probe, vendor_stub, workers
    finally:
        for worker in workers:
            await worker.stop()

        async def none_consuming() -> bool:
            return await consumers(probe) == 0

        await wait_for(none_consuming, what="workers gone")
        await vendor_stub.reset()


def worker_holding_the_order(workers: list[Worker], vendor_worker: str) -> Worker:
    pid = int(vendor_worker.split(":")[1])
    [worker] = [w for w in workers if w.pid == pid]
    return worker


class TestWorkerDeath:
    async def test_sigkill_mid_order_with_a_second_worker_issues_once(
        self, two_workers: TwoWorkers
    ) -> None:
        harness, stub, workers = two_workers
        await stub.control(latency_ms=1500)  # the order is mid-flight for 1.5 s
        cmd = issue_keys(sku="KILL-1", quantity=3, key_source="vendor_api", vendor="Acme")
        await harness.publish(cmd)

        async def vendor_called() -> bool:
            return bool((await stub.stats())["requests"] >= 1)

        await wait_for(vendor_called, what="a worker calling the vendor")
        victim = worker_holding_the_order(workers, (await stub.stats())["last_worker"])
        victim.signal(signal.SIGKILL)
        assert await victim.wait() == -signal.SIGKILL
        [(kind, body)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        assert len(body["key_ids"]) == 3
        await asyncio.sleep(1.0)  # nothing else may arrive for this order
        assert len(harness.events[cmd.order_id]) == 1
        [(stored,)] = await harness.sql(
            "SELECT count(*) FROM issued_key WHERE order_id = :o", o=cmd.order_id
        )
        assert stored == 3
        stats = await stub.stats()
        assert stats["sets_issued"] == 1
        assert len(stats["workers"]) == 2  # the survivor asked again, with the same key
        survivor = next(w for w in workers if w is not victim)
        survivor.signal(signal.SIGTERM)
        assert await survivor.wait() == 0

    async def test_sigterm_drains_the_order_in_hand(self, two_workers: TwoWorkers) -> None:
        harness, stub, workers = two_workers
        await stub.control(latency_ms=1000)
        cmd = issue_keys(sku="TERM-1", quantity=2, key_source="vendor_api", vendor="Acme")
        await harness.publish(cmd)

        async def vendor_called() -> bool:
            return bool((await stub.stats())["requests"] >= 1)

        await wait_for(vendor_called, what="a worker calling the vendor")
        holder = worker_holding_the_order(workers, (await stub.stats())["last_worker"])
        holder.signal(signal.SIGTERM)
        assert await holder.wait() == 0
        [(kind, _)] = await harness.outcome(cmd.order_id)
        assert kind == "KeysIssued"
        stats = await stub.stats()
        assert stats["requests"] == 1  # finished by the worker that had it: no redelivery
        assert stats["sets_issued"] == 1
        assert uuid.UUID(str(cmd.order_id))
