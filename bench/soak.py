"""Soak: a mixed partner workload against the whole platform for a set time; throughput, p50/p99
and errors per kind of request, then a consistency check of the bench database.

    .venv/bin/python bench/soak.py [--seconds 600] [--concurrency 16] [--payment-every 5]

Starts its own platform (every service as its own process, the gateway under granian) on a
fresh database and vhost, as bench/orders.py does, with rate limits out of the way. Each of
``--concurrency`` virtual partners loops: mostly orders (`POST /api/v1/orders?wait=30`, unique
external_id, `completed` counts as ok), balance, catalog search, the JSON feed (sometimes with
If-None-Match, 304 counts as ok) and reading an earlier order; one more task posts an ops
payment every ``--payment-every`` seconds. After the run: every order final, every completed
order on a document line, every outbox empty (after a short drain). Prints the figures; record
them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from esd_platform.testing import isolated_settings
from orders import BASE, OPS_TOKEN, prepare, start_platform, stop_platform

PAYER_INN = "7707083893"  # the partner prepare() approves
SCHEMAS = ("catalog", "orders", "credit", "keys", "billing", "gateway")
FINAL = ("completed", "rejected", "failed", "cancelled")
# kind -> weight of a virtual partner's next request
WEIGHTS = {"order": 40, "balance": 20, "search": 15, "order_get": 15, "export": 5}
KINDS = (*WEIGHTS, "payment")
WORDS = ["Kaspersky", "Windows", "Office", "антивирус", "1 год", "Dr.Web", "лицензия", "ESET"]


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Soak:
    headers: dict[str, str]
    sku: str
    deadline: float
    kinds: dict[str, Kind] = field(default_factory=lambda: {k: Kind() for k in KINDS})
    order_ids: list[str] = field(default_factory=list)
    etag: str | None = None
    payments: int = 0
    not_modified: int = 0


async def timed(soak: Soak, kind: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
    """Awaits ``request``; records its latency and whether it is ok (2xx or 304)."""
    record = soak.kinds[kind]
    started = time.perf_counter()
    try:
        answer = await request
    except httpx.HTTPError as error:
        record.latencies.append(time.perf_counter() - started)
        record.errors[type(error).__name__] += 1
        return None
    record.latencies.append(time.perf_counter() - started)
    if not (200 <= answer.status_code < 300 or answer.status_code == 304):
        record.errors[str(answer.status_code)] += 1
        return None
    return answer


async def order(http: httpx.AsyncClient, soak: Soak) -> None:
    body = {"external_id": uuid.uuid4().hex, "sku": soak.sku, "quantity": 1}
    record = soak.kinds["order"]
    started = time.perf_counter()
    try:
        answer = await http.post("/api/v1/orders?wait=30", json=body, headers=soak.headers)
    except httpx.HTTPError as error:
        record.latencies.append(time.perf_counter() - started)
        record.errors[type(error).__name__] += 1
        return
    record.latencies.append(time.perf_counter() - started)
    if answer.status_code >= 300:
        record.errors[str(answer.status_code)] += 1
        return
    payload = answer.json()
    soak.order_ids.append(str(payload["id"]))
    if payload.get("status") == "completed":
        record.ok += 1
    else:
        record.errors[str(payload.get("status"))] += 1


async def one_request(http: httpx.AsyncClient, soak: Soak, kind: str) -> None:
    if kind == "order":
        await order(http, soak)
        return
    if kind == "balance":
        request = http.get("/api/v1/balance", headers=soak.headers)
    elif kind == "search":
        params = {"q": random.choice(WORDS), "limit": "50"}
        request = http.get("/api/v1/catalog/products", params=params, headers=soak.headers)
    elif kind == "export":
        headers = dict(soak.headers)
        if soak.etag and random.random() < 0.5:
            headers["If-None-Match"] = soak.etag
        request = http.get("/api/v1/catalog/export?format=json", headers=headers)
    else:  # order_get: an earlier order (a balance call until there is one)
        if not soak.order_ids:
            kind, request = "balance", http.get("/api/v1/balance", headers=soak.headers)
        else:
            order_id = random.choice(soak.order_ids)
            request = http.get(f"/api/v1/orders/{order_id}", headers=soak.headers)
    answer = await timed(soak, kind, request)
    if answer is not None:
        soak.kinds[kind].ok += 1
        if answer.status_code == 304:
            soak.not_modified += 1
        elif kind == "export" and answer.headers.get("etag"):
            soak.etag = answer.headers["etag"]


async def partner(http: httpx.AsyncClient, soak: Soak, seed: int) -> None:
    rng = random.Random(seed)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while time.monotonic() < soak.deadline:
        await one_request(http, soak, rng.choices(kinds, weights)[0])


async def payments(http: httpx.AsyncClient, soak: Soak, every: float) -> None:
    ops = {"Authorization": f"Bearer {OPS_TOKEN}"}
    while time.monotonic() + every < soak.deadline:
        await asyncio.sleep(every)
        soak.payments += 1
        body = {
            "payer_inn": PAYER_INN,
            "amount": "1000.00",
            "date": datetime.date.today().isoformat(),
            "number": f"SOAK-{uuid.uuid4().hex[:12]}",
            "purpose": "Оплата по договору B-1, soak",
        }
        answer = await timed(
            soak, "payment", http.post("/api/v1/admin/payments", json=body, headers=ops)
        )
        if answer is not None:
            soak.kinds["payment"].ok += 1


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share + 0.5) - 1))] * 1000


def report(soak: Soak, elapsed: float) -> None:
    print("\n| request | count | ok | errors | requests/s | p50 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    everything: list[float] = []
    total_ok = 0
    total_errors: Counter[str] = Counter()
    for name, kind in soak.kinds.items():
        count = len(kind.latencies)
        everything += kind.latencies
        total_ok += kind.ok
        total_errors += kind.errors
        errors = ", ".join(f"{k}: {v}" for k, v in kind.errors.most_common()) or "0"
        print(
            f"| {name} | {count:,} | {kind.ok:,} | {errors} | {count / elapsed:,.1f} | "
            f"{percentile(kind.latencies, 0.5):.1f} ms | "
            f"{percentile(kind.latencies, 0.99):.1f} ms |"
        )
    errors = ", ".join(f"{k}: {v}" for k, v in total_errors.most_common()) or "0"
    print(
        f"| total | {len(everything):,} | {total_ok:,} | {errors} | "
        f"{len(everything) / elapsed:,.1f} | {percentile(everything, 0.5):.1f} ms | "
        f"{percentile(everything, 0.99):.1f} ms |"
    )
    completed = soak.kinds["order"].ok
    print(f"completed orders/s: {completed / elapsed:,.1f} over {elapsed:,.1f} s")


async def consistency(database_url: str, drain: float) -> bool:
    """Every order final, every completed order on a document line, every outbox empty."""
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        deadline = time.monotonic() + drain
        while True:
            unfinished = await conn.fetchval(
                "SELECT count(*) FROM orders.sagas WHERE state <> ALL($1::text[])", list(FINAL)
            )
            unbilled = await conn.fetchval(
                "SELECT count(*) FROM orders.sagas s WHERE s.state = 'completed' AND NOT EXISTS "
                "(SELECT 1 FROM billing.document_lines l WHERE l.order_id = s.order_id)"
            )
            outboxes = {
                schema: await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox')
                for schema in SCHEMAS
            }
            clean = not unfinished and not unbilled and not any(outboxes.values())
            if clean or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        states = await conn.fetch("SELECT state, count(*) AS n FROM orders.sagas GROUP BY state")
    finally:
        await conn.close()
    print(f"\nconsistency (bench database, after a drain of up to {drain:g} s):")
    print("  orders by state: " + ", ".join(f"{r['state']}: {r['n']}" for r in states))
    print(f"  orders not final: {unfinished}")
    print(f"  completed orders without a document line: {unbilled}")
    print("  outbox rows: " + ", ".join(f"{s}: {n}" for s, n in outboxes.items()))
    print(f"  consistent: {'yes' if clean else 'NO'}")
    return clean


async def run(args: argparse.Namespace) -> bool:
    os.environ.update(  # the platform inherits these: no rate limiting in the way of the load
        ESD_RATE_LIMIT_PER_SECOND="1000000", ESD_RATE_LIMIT_BURST="1000000"
    )
    async with isolated_settings() as settings:
        processes = start_platform(settings)
        try:
            limits = httpx.Limits(max_connections=args.concurrency * 2 + 4)
            async with httpx.AsyncClient(base_url=BASE, timeout=60, limits=limits) as http:
                partners, sku = await prepare(http, settings.database_url)
                headers = partners[0]
                load_before = os.getloadavg()
                print(
                    f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}; "
                    f"{args.concurrency} virtual partners for {args.seconds:g} s, "
                    f"a payment every {args.payment_every:g} s, sku {sku}",
                    flush=True,
                )
                started = time.monotonic()
                soak = Soak(headers, sku, started + args.seconds)
                await asyncio.gather(
                    payments(http, soak, args.payment_every),
                    *(partner(http, soak, seed) for seed in range(args.concurrency)),
                )
                elapsed = time.monotonic() - started
                load_after = os.getloadavg()
            report(soak, elapsed)
            print(
                f"payments posted: {soak.payments}; exports answered 304: {soak.not_modified}; "
                f"load average after: "
                f"{' '.join(f'{v:.2f}' for v in load_after)}"
            )
            return await consistency(settings.database_url, args.drain)
        finally:
            stop_platform(processes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--payment-every", type=float, default=5)
    parser.add_argument("--drain", type=float, default=30, help="seconds to wait for quiet")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    if not asyncio.run(run(args)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
