"""The baseline an order is measured against: a bare FastStream chain on the same machine.

As many hops as one order's saga (gateway → orders → credit → orders → keys → orders → billing
→ credit → orders → gateway: 9 messages), each hop doing as many plain asyncpg
transactions as the real hop does (inbox + effect + outbox in one, the relay's claim-and-delete
in another: 2). No outbox, no inbox, no ORM, no validation beyond JSON: the ceiling of the stack.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import cast

import asyncpg
from faststream.rabbit import QueueType, RabbitBroker, RabbitQueue
from faststream.types import SendableMessage

HOPS = 9
TRANSACTIONS_PER_HOP = 2


async def run_baseline(
    amqp_url: str,
    database_url: str,
    chains: int,
    concurrency: int,
    *,
    hops: int = HOPS,
    transactions: int = TRANSACTIONS_PER_HOP,
    quorum: bool = False,
) -> dict[str, float]:
    """Push ``chains`` chains through, ``concurrency`` at a time; chains/s and latencies.

    ``hops`` queues in a row, ``transactions`` plain asyncpg transactions in each hop; classic
    auto-delete queues, or with ``quorum`` durable quorum queues as the platform declares them.
    """
    pool = await asyncpg.create_pool(database_url.replace("+asyncpg", ""), min_size=4, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_baseline "
            "(id uuid, hop int, at timestamptz DEFAULT now())"
        )
    broker = RabbitBroker(amqp_url, log_level=10)
    done: dict[str, asyncio.Future[None]] = {}
    prefix = f"bench.{uuid.uuid4().hex[:6]}"

    def hop(index: int) -> Callable[[dict[str, str]], Awaitable[None]]:
        async def handle(body: dict[str, str]) -> None:
            for _ in range(transactions):
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(
                        "INSERT INTO bench_baseline (id, hop) VALUES ($1, $2)",
                        uuid.UUID(body["id"]),
                        index,
                    )
            if index + 1 < hops:
                # faststream types a dict message as dict[str, BaseSendableMessage]; dict is
                # invariant, so our dict[str, str] needs the (runtime no-op) cast
                await broker.publish(
                    cast(SendableMessage, body), queue=f"{prefix}.{index + 1}", persist=True
                )
            else:
                future = done.pop(body["id"], None)
                if future is not None and not future.done():
                    future.set_result(None)

        return handle

    for index in range(hops):
        name = f"{prefix}.{index}"
        queue = (
            RabbitQueue(name, durable=True, queue_type=QueueType.QUORUM)
            if quorum
            else RabbitQueue(name, auto_delete=True)
        )
        broker.subscriber(queue)(hop(index))
    await broker.start()
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one_chain() -> None:
        async with semaphore:
            chain_id = str(uuid.uuid4())
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done[chain_id] = future
            started = time.perf_counter()
            await broker.publish({"id": chain_id}, queue=f"{prefix}.0", persist=True)
            await future
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_chain() for _ in range(chains)))
    elapsed = time.perf_counter() - started
    await broker.stop()
    async with pool.acquire() as conn:
        await conn.execute("DROP TABLE IF EXISTS bench_baseline")
    await pool.close()
    latencies.sort()
    return {
        "chains_per_s": chains / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }
