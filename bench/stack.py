"""The stack's own speed on this machine today: the reference figures issue 2 states.

Issue 2 sets its targets next to three figures for "this 2-core machine": a bare 4-hop
FastStream chain at about 450 chains/s, raw asyncpg at about 4,200 short transactions/s, and the
SQLAlchemy ORM at about 800 transactions/s per process. This measures the same three here and
now, so that a run of ``bench/orders.py`` can be read against the machine it ran on:

    .venv/bin/python bench/stack.py [--chains 3000] [--transactions 20000] [--concurrency 32]

Prints each figure next to the issue's and their ratio (the VM's speed against the one the
issue was written on), and what the issue's targets come to at that speed. First it prints two
yardsticks of the VM itself: a Python loop (pure interpreter speed) and a loopback ping-pong
between two processes (system calls and context switches, which the platform makes many of per
order and the loop does not measure). Runs on a fresh
database and vhost, dropped at the end. Record the figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import Uuid
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import run_baseline
from esd_platform.testing import isolated_settings

ISSUE_CHAIN = 450.0
"""Issue 2: a bare 4-hop FastStream chain, chains/s."""
ISSUE_ASYNCPG = 4200.0
"""Issue 2: raw asyncpg, short transactions/s."""
ISSUE_ORM = 800.0
"""Issue 2: the SQLAlchemy ORM, transactions/s per process."""
SUSTAINED = 150.0
"""Issue 2's target: orders/s sustained."""
LATENCY_RATE = 50.0
"""Issue 2's target: p99 under 250 ms at this many orders/s."""
DB_CONNECTIONS = 16
"""Connections the asyncpg and ORM runs keep busy at once."""


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_stack_orm"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    hop: Mapped[int]


async def raw_asyncpg(url: str, transactions: int, concurrency: int) -> float:
    """Short transactions/s (BEGIN, one INSERT, COMMIT) on a pool, ``concurrency`` at a time."""
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE bench_stack_raw (id uuid PRIMARY KEY, hop int)")
    per_worker = transactions // concurrency

    async def worker() -> None:
        for index in range(per_worker):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO bench_stack_raw (id, hop) VALUES ($1, $2)", uuid.uuid4(), index
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return per_worker * concurrency / elapsed


async def orm(url: str, transactions: int, concurrency: int) -> float:
    """Transactions/s through the ORM: a session, one added object, a commit."""
    engine = create_async_engine(url, pool_size=concurrency, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    per_worker = transactions // concurrency

    async def worker() -> None:
        for index in range(per_worker):
            async with sessions() as session, session.begin():
                session.add(Row(id=uuid.uuid4(), hop=index))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return per_worker * concurrency / elapsed


def python_loop() -> float:
    """Seconds for a fixed pure-Python loop, the best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(3 * 10**6))
        best = min(best, time.perf_counter() - start)
    return best


def ping_pong(round_trips: int = 20000) -> float:
    """Round trips/s of one byte between this process and a forked one over a socket pair:
    each is two system calls and two context switches a side. Run it on an idle machine: on a
    busy one it reads faster (four times here), since no idle vCPU has to be woken for it."""
    ours, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:  # the echo side
        ours.close()
        while data := theirs.recv(1):
            theirs.sendall(data)
        os._exit(0)
    theirs.close()
    start = time.perf_counter()
    for _ in range(round_trips):
        ours.sendall(b"x")
        ours.recv(1)
    elapsed = time.perf_counter() - start
    ours.close()
    os.waitpid(child, 0)
    return round_trips / elapsed


def line(name: str, measured: float, issue: float) -> float:
    speed = measured / issue
    print(f"{name:<44}{measured:>9,.1f}/s   issue {issue:>7,.0f}/s   x{speed:.2f}", flush=True)
    return speed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=3000)
    parser.add_argument(
        "--transactions", type=int, default=20000, help="asyncpg's; the ORM does a quarter"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="chains in flight")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    print(
        f"yardsticks: python loop {python_loop():.3f} s, loopback "
        f"ping-pong between two processes {ping_pong():,.0f} round trips/s",
        flush=True,
    )
    async with isolated_settings() as settings:
        raw_url = settings.database_url.replace("+asyncpg", "")
        speeds: dict[bool, float] = {}
        for quorum in (False, True):
            chain = await run_baseline(
                settings.amqp_url,
                settings.sqlalchemy_url,
                args.chains,
                args.concurrency,
                hops=4,
                transactions=0,
                quorum=quorum,
            )
            kind = "durable quorum queues" if quorum else "classic queues"
            speeds[quorum] = line(
                f"bare 4-hop FastStream chain, {kind}", chain["chains_per_s"], ISSUE_CHAIN
            )
        line(
            "raw asyncpg, short transactions",
            await raw_asyncpg(raw_url, args.transactions, DB_CONNECTIONS),
            ISSUE_ASYNCPG,
        )
        line(
            "SQLAlchemy ORM, one process",
            await orm(settings.sqlalchemy_url, args.transactions // 4, DB_CONNECTIONS),
            ISSUE_ORM,
        )
    # the bare chain as a FastStream app declares it: what an order is made of (messages, hops,
    # handlers), and the figure the issue's own targets were set beside
    speed = speeds[False]
    print(
        f"issue 2's targets at this speed (x{speed:.2f}): {SUSTAINED * speed:.0f} orders/s "
        f"sustained, p99 < 250 ms at {LATENCY_RATE * speed:.0f} orders/s",
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
