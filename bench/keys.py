"""Keys benchmark: keys issued per second by 1, 2 (, 4) worker processes, per adapter.

Each worker is a real ``python -m keys`` process on a fresh database and vhost; the bench
publishes ``IssueKeys`` commands straight onto ``keys.commands`` (as the orders saga's outbox
would) and times from the first publish until every order's keys are committed (polled in
``keys.key_order``). Adapters: ``pool`` (keys loaded by ``LoadKeyPool`` first), ``generator``
(Ed25519-signed here) and ``vendor_api`` (the vendor stub with 50 ms latency per call).

    .venv/bin/python bench/keys.py [--orders 200] [--quantity 1] [--workers 1,2]
        [--sources pool,generator,vendor_api] [--latency-ms 50] [--prefetch 16]

Uses ``ESD_DATABASE_URL`` / ``ESD_AMQP_URL`` (defaults: the local servers) through
``esd_platform.testing.isolated_settings``: its database and vhost are dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import httpx
from esd_contracts.keys.commands import IssueKeys, LoadKeyPool, PoolLoaded
from esd_platform.settings import PlatformSettings
from esd_platform.testing import ask, isolated_settings, publish
from faststream.rabbit import RabbitBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "keys.IssueKeys"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_stub(port: int, latency_ms: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.vendor_stub",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
        cwd=ROOT,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return process
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("vendor stub did not start")


async def start_workers(
    settings: PlatformSettings, count: int, stub_url: str, prefetch: int
) -> list[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "ESD_ENV": "test",
        "ESD_DATABASE_URL": settings.database_url,
        "ESD_AMQP_URL": settings.amqp_url,
        "ESD_VENDOR_API_URL": stub_url,
        "ESD_PREFETCH": str(prefetch),
        "ESD_LOG_LEVEL": "WARNING",
        "ESD_STOCK_LOW_THRESHOLD": "0",
    }
    workers = []
    for _ in range(count):
        workers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "keys",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
        if len(workers) == 1:  # the first one migrates; the others then start on a ready schema
            await wait_for_consumers(settings, 1)
    await wait_for_consumers(settings, count)
    return workers


async def wait_for_consumers(settings: PlatformSettings, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = await aio_pika.connect(settings.amqp_url)
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue(QUEUE, passive=True)
                if (queue.declaration_result.consumer_count or 0) >= count:
                    return
        except (aio_pika.exceptions.ChannelClosed, aio_pika.exceptions.ChannelNotFoundEntity):
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError(f"{count} keys workers did not start")


async def stop_workers(workers: list[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            await asyncio.wait_for(worker.wait(), 30)
        except TimeoutError:
            worker.kill()
            await worker.wait()


def command(source: str, sku: str, quantity: int) -> IssueKeys:
    order_id = uuid.uuid4()
    return IssueKeys(
        correlation_id=order_id,
        occurred_at=datetime.now(UTC),
        order_id=order_id,
        partner_id=uuid.uuid4(),
        sku=sku,
        quantity=quantity,
        test=False,
        key_source=source,
        vendor="BenchVendor" if source == "vendor_api" else "",
    )


async def run(
    broker: RabbitBroker, engine: AsyncEngine, source: str, sku: str, orders: int, quantity: int
) -> tuple[float, int]:
    """Seconds until every order is final, and how many ended issued."""
    commands = [command(source, sku, quantity) for _ in range(orders)]
    ids = [c.order_id for c in commands]
    count = text(
        "SELECT count(*) FILTER (WHERE status = 'issued'), "
        "count(*) FILTER (WHERE status <> 'pending') "
        "FROM keys.key_order WHERE order_id = ANY(:ids)"
    )
    started = time.perf_counter()
    await asyncio.gather(*(publish(broker, c) for c in commands))
    while True:
        async with engine.connect() as conn:
            issued, final = (await conn.execute(count, {"ids": ids})).one()
        if final >= orders:
            return time.perf_counter() - started, int(issued)
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"{source}: only {final} of {orders} orders final after 120 s")
        await asyncio.sleep(0.05)


async def load_pool(broker: RabbitBroker, sku: str, keys: int) -> None:
    for start in range(0, keys, 5000):
        batch = tuple(f"BENCH-{uuid.uuid4().hex}" for _ in range(min(5000, keys - start)))
        loaded = await ask(
            broker,
            LoadKeyPool(
                correlation_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                sku=sku,
                keys=batch,
            ),
            PoolLoaded,
            timeout=30,
        )
        assert loaded.loaded == len(batch), loaded


async def main(args: argparse.Namespace) -> None:
    stub_port = free_port()
    stub = await start_stub(stub_port, args.latency_ms)
    results: list[tuple[str, int, float, float]] = []
    try:
        async with isolated_settings() as settings:
            engine = create_async_engine(settings.sqlalchemy_url, pool_size=2)
            broker = RabbitBroker(settings.amqp_url, logger=None)
            await broker.connect()
            try:
                for workers in args.workers:
                    procs = await start_workers(
                        settings, workers, f"http://127.0.0.1:{stub_port}", args.prefetch
                    )
                    try:
                        for source in args.sources:
                            sku = f"BENCH-{source}-{workers}"
                            warm = 2 * workers
                            if source == "pool":
                                await load_pool(broker, sku, args.orders * args.quantity + warm)
                            # warm-up (connections, prepared statements, HTTP pool)
                            await run(broker, engine, source, sku, warm, 1)
                            seconds, issued = await run(
                                broker, engine, source, sku, args.orders, args.quantity
                            )
                            if issued != args.orders:
                                raise RuntimeError(f"{source}: {issued}/{args.orders} issued")
                            keys_per_s = args.orders * args.quantity / seconds
                            results.append((source, workers, seconds, keys_per_s))
                            print(
                                f"{source:<11} workers={workers} orders={args.orders} "
                                f"quantity={args.quantity} {seconds:6.2f} s "
                                f"{keys_per_s:8.1f} keys/s",
                                flush=True,
                            )
                    finally:
                        await stop_workers(procs)
            finally:
                await broker.stop()
                await engine.dispose()
    finally:
        stub.terminate()
        await stub.wait()
    print("\n| adapter | " + " | ".join(f"{w} worker(s), keys/s" for w in args.workers) + " |")
    print("| --- |" + " --- |" * len(args.workers))
    for source in args.sources:
        row = {w: k for s, w, _, k in results if s == source}
        cells = " | ".join(f"{row[w]:.0f}" if w in row else "-" for w in args.workers)
        ratio = (
            f" (x{row[args.workers[-1]] / row[args.workers[0]]:.2f})"
            if len(args.workers) > 1 and args.workers[0] in row and args.workers[-1] in row
            else ""
        )
        print(f"| {source} | {cells}{ratio} |")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/keys.py", description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--quantity", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--sources", default="pool,generator,vendor_api")
    parser.add_argument("--latency-ms", type=int, default=50, help="vendor stub latency")
    parser.add_argument("--prefetch", type=int, default=16, help="ESD_PREFETCH per worker")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    args.sources = args.sources.split(",")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
