"""Billing benchmark: lines and documents recorded per second, UPD/PDF render rates, and
closing a big day.

Runs on the database only (no broker needed): RecordShipment is handled in-process by the same
handler the consumer calls, so the figures are billing's own cost (inbox, look-up, document
update, line insert, two outbox rows per line; plus the advisory lock, the yearly counter and the
document insert for a day's first line). The UPD rate is building the XML of a 10-line document
and validating it against the XSD (what ``?format=upd`` and EDO delivery do per document); the
PDF rate is rendering its printable form. Closing a day of 4,200 partners with 100,000 lines is
timed end to end (closing batches, totals check, DocumentClosed into the outbox); target < 60 s.

    .venv/bin/python bench/billing.py [--lines 3000] [--documents 1000] [--renders 100]
        [--partners 4200] [--day-lines 100000] [--concurrency 16]
        [--steps record,documents,render,close]

Uses ``ESD_DATABASE_URL`` (default the local server) and a throwaway database it drops after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Run as a script, this file (bench/billing.py) would shadow the billing package: drop its folder.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import asyncpg  # noqa: E402
from billing.adapters import pdf, repository  # noqa: E402
from billing.bootstrap import build_service  # noqa: E402
from billing.domain.documents import MOSCOW  # noqa: E402
from billing.service_layer import closing, handlers  # noqa: E402
from billing.service_layer.issuer import Issuer  # noqa: E402
from billing.service_layer.printing import upd_of  # noqa: E402
from billing.settings import BillingSettings  # noqa: E402
from esd_contracts.billing.commands import RecordShipment  # noqa: E402
from esd_platform.migrations import migrate  # noqa: E402
from esd_platform.settings import PlatformSettings  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


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
        steps = set(args.steps.split(","))
        partners: list[uuid.UUID] = []
        if "record" in steps or "render" in steps:
            partners = await record_lines(service, args)
        if "documents" in steps:
            await open_documents(service, args)
        if "render" in steps:
            await render(service, args, partners)
        if "close" in steps:
            await close_big_day(service, args)
    finally:
        await service.engine.dispose()
        admin = await _admin(base)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _shipment(partner: uuid.UUID, shipped: datetime, i: int) -> RecordShipment:
    order = uuid.uuid4()
    audiobook = i % 10 == 0  # one taxable line in ten, so VAT is computed too
    return RecordShipment(
        correlation_id=order,
        occurred_at=shipped,
        order_id=order,
        partner_id=partner,
        sku="AUDIO-1" if audiobook else "KL1939",
        name="Аудиокнига" if audiobook else "Kaspersky Standard",
        quantity=1,
        unit_price=Decimal("1500.00"),
        amount=Decimal("1500.00"),
        vat_rate="22" if audiobook else "exempt",
        vat_amount=Decimal("270.49") if audiobook else Decimal("0.00"),
        shipped_at=shipped,
    )


async def _drain(service, commands: list[RecordShipment], concurrency: int) -> float:  # type: ignore[no-untyped-def]
    queue: asyncio.Queue[RecordShipment] = asyncio.Queue()
    for cmd in commands:
        queue.put_nowait(cmd)

    async def worker() -> None:
        while not queue.empty():
            await handlers.record_shipment(queue.get_nowait(), service.uow)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def record_lines(service, args: argparse.Namespace) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    """Lines onto 200 partners' documents of one day (after each document's first line)."""
    partners = [uuid.uuid4() for _ in range(200)]
    async with service.engine.begin() as conn:
        for n, partner in enumerate(partners):
            await repository.upsert_partner(
                conn,
                partner_id=partner,
                reseller_id=f"R-{n:06d}",
                company_name=f'ООО "Партнёр {n}"',
                inn="7707083893",
                kpp="773601001",
                registered_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
    shipped = datetime.now(UTC)
    elapsed = await _drain(
        service,
        [_shipment(partners[i % len(partners)], shipped, i) for i in range(args.lines)],
        args.concurrency,
    )
    print(
        f"record: {args.lines} lines in {elapsed:.2f} s = {args.lines / elapsed:.0f} lines/s "
        f"({args.concurrency} concurrent, 200 partners)"
    )
    return partners


async def open_documents(service, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """Each shipment the first of its partner's day: a new, gaplessly numbered document each."""
    shipped = datetime(2027, 2, 1, 12, tzinfo=MOSCOW)
    elapsed = await _drain(
        service,
        [_shipment(uuid.uuid4(), shipped, i) for i in range(args.documents)],
        args.concurrency,
    )
    async with service.engine.connect() as conn:
        last = (
            await conn.execute(text("SELECT last_number FROM document_counters WHERE year = 2027"))
        ).scalar_one()
    print(
        f"documents: {args.documents} new documents in {elapsed:.2f} s = "
        f"{args.documents / elapsed:.0f} documents/s ({args.concurrency} concurrent; "
        f"numbers 1..{last}, gapless: {last == args.documents})"
    )


async def render(service, args: argparse.Namespace, partners: list[uuid.UUID]) -> None:  # type: ignore[no-untyped-def]
    """UPD (build + XSD check) and PDF of the record step's documents (~10 lines each)."""
    issuer = Issuer.from_settings(BillingSettings())
    async with service.engine.connect() as conn:
        documents = [
            d
            for d in await repository.load_documents(conn)
            if d.partner_id in set(partners) and d.buyer is not None
        ]
    assert documents, "the record step left documents to render"
    count = args.renders
    started = time.perf_counter()
    for i in range(count):
        upd_of(documents[i % len(documents)], issuer)
    upd_elapsed = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(count):
        pdf.render(documents[i % len(documents)], issuer.seller, issuer.font, issuer.font_bold)
    pdf_elapsed = time.perf_counter() - started
    lines = sum(len(d.lines) for d in documents) / len(documents)
    print(
        f"render: UPD {count / upd_elapsed:.0f} documents/s (build + XSD check), "
        f"PDF {count / pdf_elapsed:.0f} documents/s; {lines:.0f} lines per document, one core"
    )


async def close_big_day(service, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    day = date(2025, 6, 2)
    created = datetime(2025, 6, 2, 12, tzinfo=MOSCOW)
    loading = time.perf_counter()
    async with service.engine.begin() as conn:
        # A day's worth of documents and lines, loaded in bulk as the hot path would leave them.
        # Setup only, in this throwaway database: the per-row trigger guarding closed documents'
        # lines is skipped while loading (the documents are open, it could not fire anyway).
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
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
                "WITH docs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k "
                "FROM documents WHERE date = :day) "
                "INSERT INTO document_lines (order_id, document_id, position, sku, name, quantity, "
                "unit_price, amount, vat_rate, vat_amount, shipped_at, created_at) "
                "SELECT gen_random_uuid(), d.id, g / :partners + 1, 'SKU', 'Товар', 1, 100.00, "
                "CASE WHEN g % 10 = 0 THEN 122.00 ELSE 100.00 END, "
                "CASE WHEN g % 10 = 0 THEN '22' ELSE 'exempt' END, "
                "CASE WHEN g % 10 = 0 THEN 22.00 ELSE 0.00 END, :created, :created "
                "FROM generate_series(0, :lines - 1) g JOIN docs d ON d.k = g % :partners"
            ),
            {
                "day": day,
                "created": created,
                "lines": args.day_lines,
                "partners": args.partners,
            },
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
    print(
        f"close: loaded {args.partners} documents / {args.day_lines} lines in "
        f"{time.perf_counter() - loading:.1f} s (setup, not timed below)"
    )
    started = time.perf_counter()
    closed = await closing.close_days(service.uow, day + timedelta(days=1))
    elapsed = time.perf_counter() - started
    async with service.engine.connect() as conn:
        staged = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    print(
        f"close: {closed} documents / {args.day_lines} lines closed in {elapsed:.2f} s "
        f"({staged} messages staged in the outbox)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--partners", type=int, default=4200)
    parser.add_argument("--day-lines", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--steps", default="record,documents,render,close", help="comma-separated subset"
    )
    asyncio.run(main(parser.parse_args()))
