"""Billing benchmark: document lines recorded per second, and closing a big day.

Runs on the database only (no broker needed): RecordShipment is handled in-process by the same
handler the consumer calls, so the figure is billing's own cost per line (inbox, look-up,
document update, line insert, two outbox rows). Closing a day of 4,200 partners with 100,000
lines is timed end to end (closing batches, totals check, DocumentClosed into the outbox).

    .venv/bin/python services/billing/bench/bench_billing.py [--lines 5000] [--partners 4200]
        [--day-lines 100000] [--concurrency 16]

Uses ``ESD_DATABASE_URL`` (default the local server) and a throwaway database it drops after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
from billing.bootstrap import build_service
from billing.domain.documents import MOSCOW
from billing.service_layer import closing, handlers
from billing.settings import BillingSettings
from esd_contracts.billing.commands import RecordShipment
from esd_platform.migrations import migrate
from esd_platform.settings import PlatformSettings
from sqlalchemy import text
from sqlalchemy.engine import make_url


async def _admin(url: str) -> asyncpg.Connection:
    u = make_url(PlatformSettings(database_url=url).sqlalchemy_url)
    return await asyncpg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database="postgres",
    )


async def main(args: argparse.Namespace) -> None:
    base = os.environ.get("ESD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"esd_bench_billing_{uuid.uuid4().hex[:8]}"
    admin = await _admin(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url).set(database=name)
    settings = PlatformSettings(
        database_url=url.render_as_string(hide_password=False), db_pool_size=args.concurrency
    )
    service = build_service(settings, BillingSettings(background=False))
    try:
        await migrate(service.engine, service.schema, service.migrations)
        await record_lines(service, args)
        await close_big_day(service, args)
    finally:
        await service.engine.dispose()
        admin = await _admin(base)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def record_lines(service, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    partners = [uuid.uuid4() for _ in range(200)]
    shipped = datetime.now(UTC)
    commands = []
    for i in range(args.lines):
        order = uuid.uuid4()
        commands.append(
            RecordShipment(
                correlation_id=order,
                occurred_at=shipped,
                order_id=order,
                partner_id=partners[i % len(partners)],
                sku="KL1939",
                name="Kaspersky Standard",
                quantity=1,
                unit_price=Decimal("1500.00"),
                amount=Decimal("1500.00"),
                vat_rate="exempt",
                vat_amount=Decimal("0.00"),
                shipped_at=shipped,
            )
        )
    queue: asyncio.Queue[RecordShipment] = asyncio.Queue()
    for cmd in commands:
        queue.put_nowait(cmd)

    async def worker() -> None:
        while not queue.empty():
            await handlers.record_shipment(queue.get_nowait(), service.uow)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    print(  # noqa: T201
        f"record: {args.lines} lines in {elapsed:.2f} s = {args.lines / elapsed:.0f} lines/s "
        f"({args.concurrency} concurrent, 200 partners)"
    )


async def close_big_day(service, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    day = date(2025, 6, 2)
    created = datetime(2025, 6, 2, 12, tzinfo=MOSCOW)
    async with service.engine.begin() as conn:
        # A day's worth of documents and lines, loaded in bulk as the hot path would leave them.
        await conn.execute(
            text(
                "INSERT INTO documents (number, partner_id, date, due_date, amount, vat_amount, "
                "line_count, created_at) SELECT 'BENCH-' || g, gen_random_uuid(), :day, "
                ":due, 0, 0, 0, :created FROM generate_series(1, :partners) g"
            ),
            {
                "day": day,
                "due": day + timedelta(days=15),
                "created": created,
                "partners": args.partners,
            },
        )
        await conn.execute(
            text(
                "WITH docs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, "
                "count(*) OVER () AS n FROM documents WHERE date = :day) "
                "INSERT INTO document_lines (order_id, document_id, position, sku, name, quantity, "
                "unit_price, amount, vat_rate, vat_amount, shipped_at, created_at) "
                "SELECT gen_random_uuid(), d.id, g / d.n + 1, 'SKU', 'Товар', 1, 100.00, "
                "CASE WHEN g % 10 = 0 THEN 122.00 ELSE 100.00 END, "
                "CASE WHEN g % 10 = 0 THEN '22' ELSE 'exempt' END, "
                "CASE WHEN g % 10 = 0 THEN 22.00 ELSE 0.00 END, :created, :created "
                "FROM generate_series(0, :lines - 1) g JOIN docs d ON d.k = g % d.n"
            ),
            {"day": day, "created": created, "lines": args.day_lines},
        )
        await conn.execute(
            text(
                "UPDATE documents d SET amount = s.amount, vat_amount = s.vat, line_count = s.n "
                "FROM (SELECT document_id, sum(amount) AS amount, sum(vat_amount) AS vat, "
                "count(*) AS n FROM document_lines GROUP BY document_id) s "
                "WHERE s.document_id = d.id AND d.date = :day"
            ),
            {"day": day},
        )
    started = time.perf_counter()
    closed = await closing.close_days(service.uow, day + timedelta(days=1))
    elapsed = time.perf_counter() - started
    async with service.engine.connect() as conn:
        staged = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    print(  # noqa: T201
        f"close: {closed} documents / {args.day_lines} lines closed in {elapsed:.2f} s "
        f"({staged} messages staged in the outbox)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--partners", type=int, default=4200)
    parser.add_argument("--day-lines", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
