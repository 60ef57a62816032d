"""Catalog through the gateway: feed latency and throughput per format on the demo catalog,
search and paging latency, and one streamed feed of a large catalog with the gateway's peak
memory.

    .venv/bin/python bench/catalog.py [--repeat 15] [--large 200000] [--large-formats json,yml]

Starts the catalog service and the gateway (granian, one worker) as processes of their own on a
fresh database and vhost; the demo seed (3,370 products) reaches the gateway's replica over the
bus. The partner has a price rule (three lines), so every price is computed. The large catalog
is written straight into the gateway's replica table (the event path is not what is measured);
peak memory is the gateway process tree's VmHWM from /proc. Prints the figures; record them in
bench/RESULTS.md under "## catalog".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from esd_platform.testing import isolated_settings
from orders import approved_partner, stop_platform

OPS_TOKEN = "bench-ops-token"
PORT = int(os.environ.get("ESD_BENCH_PORT", "18081"))
BASE = f"http://127.0.0.1:{PORT}"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}
FORMATS = ("json", "xml", "csv", "commerceml", "yml")
SEARCHES = ("касперский", "kaspersky total", "1с бухгалтерия", "office", "ёлка", "ESET NOD32")


def start(settings: Any) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env.update(
        ESD_ENV="bench",
        ESD_DATABASE_URL=settings.database_url,
        ESD_AMQP_URL=settings.amqp_url,
        ESD_OPS_TOKEN=OPS_TOKEN,
        ESD_GATEWAY_PORT=str(PORT),
        ESD_LOG_LEVEL="WARNING",
    )
    return [
        subprocess.Popen([sys.executable, "-m", name], env=env, start_new_session=True)
        for name in ("catalog", "gateway")
    ]


def tree_peak_rss_mb(pid: int) -> float:
    """The highest peak RSS (VmHWM) of ``pid`` or any descendant (granian's worker), MiB."""
    peak = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        pending.extend(int(c) for c in children)
    return peak / 1024


def tree_rss_mb(pid: int) -> float:
    """The largest current RSS of ``pid`` or any descendant, MiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total = max(total, int(line.split()[1]))
        pending.extend(int(c) for c in children)
    return total / 1024


async def prepare(http: httpx.AsyncClient, database_url: str) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get("/health")).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("gateway did not start")
        await asyncio.sleep(0.5)
    approved = await approved_partner(http, OPS)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        while True:
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM catalog.products) AS catalog, "
                "(SELECT count(*) FROM gateway.products) AS replica"
            )
            if counts["catalog"] and counts["catalog"] == counts["replica"]:
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    rule = await http.put(
        f"/api/v1/admin/partners/{approved['partner_id']}/price-rule",
        json={
            "adjustments": [
                {"percent": "-12.5", "vendor_id": "kaspersky"},
                {"percent": "-5", "category_id": "antivirus"},
                {"percent": "3"},
            ]
        },
        headers=OPS,
        timeout=30,
    )
    rule.raise_for_status()
    return {"Authorization": f"Bearer {approved['api_key']}"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], repeat: int
) -> tuple[list[float], int, int]:
    times: list[float] = []
    size = status = 0
    for index in range(repeat):
        started = time.perf_counter()
        answer = await http.get(url.replace("{i}", f"{index:02d}"), headers=headers)
        times.append(time.perf_counter() - started)
        size, status = len(answer.content), answer.status_code
    return times, size, status


def row(label: str, count: int | str, size: int, times: list[float]) -> str:
    p50 = statistics.median(times)
    rate = f"{size / 1e6 / p50:.1f}" if size else "–"
    per_second = f"{count / p50:,.0f}" if isinstance(count, int) else "–"
    return (
        f"| {label} | {count} | {size / 1e6:.2f} MB | {p50 * 1000:.0f} ms | "
        f"{percentile(times, 0.99) * 1000:.0f} ms | {rate} | {per_second} |"
    )


async def feeds(http: httpx.AsyncClient, headers: dict[str, str], repeat: int) -> None:
    print(f"\nfeeds of the demo catalog, {repeat} sequential requests each")
    print("cold: a tag not served before (a distinct old `since`, so every product is listed);")
    print("warm: the same feed again (kept by its ETag); 304: If-None-Match with the tag")
    print("| request | products | size | p50 | p99 | MB/s at p50 | products/s at p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    export = "/api/v1/catalog/export?format="
    count = len((await http.get(export + "json", headers=headers)).json()["items"])
    for fmt in FORMATS:
        since = "&since=2001-01-01T00:00:{i}%2B00:00"
        times, size, status = await timed(http, export + fmt + since, headers, repeat)
        assert status == 200
        print(row(f"{fmt}, cold", count, size, times))
        await http.get(export + fmt, headers=headers)
        times, size, status = await timed(http, export + fmt, headers, repeat)
        assert status == 200
        print(row(f"{fmt}, warm", count, size, times))
        etag = (await http.get(export + fmt, headers=headers)).headers["etag"]
        times, _, status = await timed(
            http, export + fmt, {**headers, "If-None-Match": etag}, repeat
        )
        assert status == 304
        print(row(f"{fmt}, 304", "–", 0, times))


async def after_change(
    http: httpx.AsyncClient, headers: dict[str, str], repeat: int, pause: float
) -> None:
    """What a polling shop sees: the first request for each feed ``pause`` s after a change.

    Each round changes one product's base price through the ops import (a ProductChanged on the
    bus), waits until the gateway's replica has it and then ``pause`` seconds (a shop polls far
    less often), then asks once for every format, each the first request since the change."""
    print(f"\nfirst request for each feed {pause:.0f} s after a catalog change, {repeat} changes")
    print("(the gateway renders the feeds served recently again once changes settle)")
    print("| request | products | size | p50 | p99 | MB/s at p50 | products/s at p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    export = "/api/v1/catalog/export?format="
    items = (await http.get(export + "json", headers=headers)).json()["items"]
    sku = items[0]["sku"]
    for fmt in FORMATS:  # each format served once, so each is a feed this shop polls
        await http.get(export + fmt, headers=headers)
    times: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
    sizes: dict[str, int] = {}
    last = items[0]["price"]
    for round_ in range(repeat):
        price = f"{123456 + round_}.00"  # never the product's own price: always a change
        answer = await http.post(
            "/api/v1/admin/catalog/import",
            json=[{"sku": sku, "price": price}],
            headers=OPS,
            timeout=120,
        )
        answer.raise_for_status()
        while True:
            product = (await http.get(f"/api/v1/catalog/products/{sku}", headers=headers)).json()
            if product["price"] != last:
                last = product["price"]
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(pause)
        for fmt in FORMATS:
            started = time.perf_counter()
            answer = await http.get(export + fmt, headers=headers)
            times[fmt].append(time.perf_counter() - started)
            assert answer.status_code == 200
            sizes[fmt] = len(answer.content)
    for fmt in FORMATS:
        print(row(f"{fmt}, after a change", len(items), sizes[fmt], times[fmt]))


async def search(http: httpx.AsyncClient, headers: dict[str, str], repeat: int) -> None:
    print(f"\nsearch and paging (limit 50), {repeat} requests each")
    print("| request | hits on page | p50 | p99 |")
    print("| --- | --- | --- | --- |")
    for q in SEARCHES:
        times: list[float] = []
        hits = 0
        for _ in range(repeat):
            started = time.perf_counter()
            answer = await http.get("/api/v1/catalog/products", params={"q": q}, headers=headers)
            times.append(time.perf_counter() - started)
            hits = len(answer.json()["items"])
        print(
            f"| q={q} | {hits} | {statistics.median(times) * 1000:.1f} ms | "
            f"{percentile(times, 0.99) * 1000:.1f} ms |"
        )
    times = []
    pages = 0
    cursor = None
    started_all = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        started = time.perf_counter()
        page = (await http.get("/api/v1/catalog/products", params=params, headers=headers)).json()
        times.append(time.perf_counter() - started)
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    whole = time.perf_counter() - started_all
    print(
        f"| every page, limit 100 ({pages} pages, {whole:.1f} s) | 100 | "
        f"{statistics.median(times) * 1000:.1f} ms | {percentile(times, 0.99) * 1000:.1f} ms |"
    )


async def large(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    database_url: str,
    gateway_pid: int,
    size: int,
    formats: list[str],
) -> None:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO gateway.products (sku, revision, name, vendor, version, category, kind, "
            "base_price, vat_rate, required_fields, download_url, key_source, active, updated_at, "
            "vendor_id, category_id, category_path, vat_basis, vendor_key, search_text) "
            "SELECT 'BULK-' || lpad(n::text, 7, '0'), 1, 'Программа номер ' || n || ', 1 год', "
            "'Вендор ' || (n % 300), '2026', 'Антивирусы', 'key', 100 + (n % 5000), 'exempt', "
            "'[]', 'https://vendor.example/d/' || n, 'generator', true, now(), "
            "'bulk-' || (n % 300), 'antivirus', "
            '\'[{"id": "security", "name": "Безопасность"}, '
            '{"id": "antivirus", "name": "Антивирусы"}]\', \'\', '
            "'вендор ' || (n % 300), 'bulk-' || n || ' программа номер ' || n "
            "FROM generate_series(1, $1) AS n",
            size,
        )
        total = await conn.fetchval("SELECT count(*) FROM gateway.products WHERE active")
        await conn.execute("ANALYZE gateway.products")
    finally:
        await conn.close()
    print(
        f"\nlarge catalog: {total:,} active products in the replica "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    print(
        f"gateway RSS before: {tree_rss_mb(gateway_pid):.0f} MiB, "
        f"peak so far {tree_peak_rss_mb(gateway_pid):.0f} MiB"
    )
    print("| format | size | time | MB/s | products/s | gateway peak RSS after |")
    print("| --- | --- | --- | --- | --- | --- |")
    for fmt in formats:
        started = time.perf_counter()
        received = 0
        async with http.stream(
            "GET", f"/api/v1/catalog/export?format={fmt}", headers=headers, timeout=300
        ) as answer:
            async for chunk in answer.aiter_bytes():
                received += len(chunk)
        seconds = time.perf_counter() - started
        print(
            f"| {fmt} | {received / 1e6:.0f} MB | {seconds:.1f} s | "
            f"{received / 1e6 / seconds:.1f} | "
            f"{total / seconds:,.0f} | {tree_peak_rss_mb(gateway_pid):.0f} MiB |"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--large-formats", default="json,commerceml,yml")
    parser.add_argument(
        "--pause", type=float, default=10.0, help="seconds between a change and the next poll"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    async with isolated_settings() as settings:
        processes = start(settings)
        try:
            async with httpx.AsyncClient(base_url=BASE, timeout=60) as http:
                headers = await prepare(http, settings.database_url)
                await feeds(http, headers, args.repeat)
                await after_change(http, headers, args.repeat, args.pause)
                await search(http, headers, args.repeat)
                if args.large:
                    await large(
                        http,
                        headers,
                        settings.database_url,
                        processes[1].pid,
                        args.large,
                        args.large_formats.split(","),
                    )
        finally:
            stop_platform(processes)


if __name__ == "__main__":
    asyncio.run(main())
