"""Subscriptions benchmark: the month-end run over 50,000 subscriptions (target: under 60 s).

Runs on the database only (no broker needed): the projection is loaded with SQL (one
``created`` change per subscription on the month's 1st or a later day, and a quantity change
mid-month for one in five), then billing's month step (``subscriptions.charge_months``, what the
clockwork runs each tick) charges the month: per subscription the proration, a line on the
partner's document of the month's last day, the charge row, three outbox rows
(``DocumentLineAdded``, ``SubscriptionCharged``, ``ChargeSubscription``). A second run, which
must charge nothing, is timed too. Several runs at once (``--runners``) share the work through
``FOR UPDATE SKIP LOCKED`` (their batches take turns on the month-end lock, so more runners do
not go faster). At the end it checks the counts and that every document's totals, line count
and positions agree with its lines.

    .venv/bin/python bench/subscriptions.py [--subscriptions 50000] [--partners 2000]
        [--runners 2]

Uses ``ESD_DATABASE_URL`` (default the local server) and a throwaway database it drops after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

# Run as a script, this folder would shadow the service packages: drop it from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import asyncpg  # noqa: E402
from billing.bootstrap import build_service  # noqa: E402
from billing.service_layer import subscriptions  # noqa: E402
from billing.settings import BillingSettings  # noqa: E402
from esd_platform.migrations import migrate  # noqa: E402
from esd_platform.settings import PlatformSettings  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

MONTH = date(2027, 3, 1)
CUTOFF = date(2027, 4, 1)  # the closing's cutoff just after March's last day


async def _admin(url: str) -> asyncpg.Connection:
    u = make_url(PlatformSettings(database_url=url).sqlalchemy_url)
    return await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database="postgres"
    )


async def load(service, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    async with service.engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO subscriptions (subscription_id, partner_id, external_id, sku, name,
                    test, first_month, updated_at)
                SELECT md5('s' || i)::uuid, md5('p' || (i % :partners))::uuid, 'ext-' || i,
                       'MS-365', 'Microsoft 365', false, :month, now()
                FROM generate_series(1, :n) AS i
                """
            ),
            {"n": args.subscriptions, "partners": args.partners, "month": MONTH},
        )
        await conn.execute(
            text(
                """
                INSERT INTO subscription_changes (subscription_id, sequence, message_id, change,
                    status, quantity, seats, monthly_price, vat_rate, effective_date, received_at)
                SELECT md5('s' || i)::uuid, 1, gen_random_uuid(), 'created', 'active',
                       1 + i % 7, 1 + i % 7, 990.00, 'exempt', CAST(:month AS date) + i % 10, now()
                FROM generate_series(1, :n) AS i
                UNION ALL
                SELECT md5('s' || i)::uuid, 2, gen_random_uuid(), 'quantity_changed', 'active',
                       2 + i % 5, 2 + i % 5, 990.00, 'exempt', CAST(:month AS date) + 14, now()
                FROM generate_series(1, :n) AS i WHERE i % 5 = 0
                """
            ),
            {"n": args.subscriptions, "month": MONTH},
        )
    print(
        f"load: {args.subscriptions} subscriptions over {args.partners} partners in "
        f"{time.perf_counter() - started:.1f} s (setup, not timed below)"
    )


async def main(args: argparse.Namespace) -> None:
    base = os.environ.get("ESD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"esd_bench_subscriptions_{uuid.uuid4().hex[:8]}"
    admin = await _admin(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = make_url(PlatformSettings(database_url=base).sqlalchemy_url).set(database=name)
    settings = PlatformSettings(
        database_url=url.render_as_string(hide_password=False), db_pool_size=args.runners + 2
    )
    service = build_service(settings, BillingSettings(background=False))
    try:
        await migrate(service.engine, service.schema, service.migrations)
        await load(service, args)
        for attempt in ("first run", "second run"):
            started = time.perf_counter()
            counts = await asyncio.gather(
                *(subscriptions.charge_months(service.uow, CUTOFF) for _ in range(args.runners))
            )
            elapsed = time.perf_counter() - started
            print(
                f"{attempt}: {sum(counts)} charges by {args.runners} runners in {elapsed:.2f} s"
                + (f" ({sum(counts) / elapsed:.0f} subscriptions/s)" if sum(counts) else "")
            )
        async with service.engine.connect() as conn:
            lines, outbox = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM document_lines), "
                        "(SELECT count(*) FROM outbox)"
                    )
                )
            ).one()
            # the set-based insert numbers lines and raises totals per document: both must add up
            mismatched = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM documents d LEFT JOIN (SELECT document_id, "
                        "count(*) AS n, max(position) AS top, sum(amount) AS amount, "
                        "sum(vat_amount) AS vat FROM document_lines GROUP BY document_id) l "
                        "ON l.document_id = d.id WHERE d.line_count IS DISTINCT FROM "
                        "coalesce(l.n, 0) OR coalesce(l.top, 0) <> d.line_count "
                        "OR d.amount <> coalesce(l.amount, 0) OR d.vat_amount <> coalesce(l.vat, 0)"
                    )
                )
            ).scalar_one()
        print(
            f"check: {lines} document lines, {outbox} messages staged in the outbox, "
            f"{mismatched} documents whose totals or line numbers disagree with their lines"
        )
    finally:
        await service.engine.dispose()
        admin = await _admin(base)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=50_000)
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--runners", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
