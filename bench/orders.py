"""Orders through the gateway: completed orders/s and p50/p99 from POST to `completed`,
at a fixed offered rate and at full speed, and the same run's bare FastStream baseline (before
and after the platform; the ratio is against their mean).

    .venv/bin/python bench/orders.py [--rate 50] [--seconds 20] [--full 3000] [--concurrency 64]

Starts its own platform (every service as its own process, the gateway under granian) on a
fresh database and vhost, so it measures what `make run` runs. Prints the figures; record them
in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import HOPS, run_baseline
from esd_cli.launcher import backend_commands
from esd_platform.service import event_loop_factory
from esd_platform.testing import isolated_settings

OPS_TOKEN = "bench-ops-token"
PORT = int(os.environ.get("ESD_BENCH_PORT", "18080"))
BASE = f"http://127.0.0.1:{PORT}"


SPY_ARGS = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "-r", "200"]
SPY_ARGS += ["--subprocesses"]  # the gateway's granian worker is a child of its main process
SPY_ARGS += ["-f", "raw", "-o"]


def start_platform(
    settings: Any, extra_keys: int = 0, profile: Path | None = None, together: bool = False
) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env.update(
        ESD_ENV="bench",
        ESD_DATABASE_URL=settings.database_url,
        ESD_AMQP_URL=settings.amqp_url,
        ESD_OPS_TOKEN=OPS_TOKEN,
        ESD_GATEWAY_PORT=str(PORT),
        ESD_LOG_LEVEL="WARNING",
    )
    commands = [*backend_commands(1 + extra_keys, together), [sys.executable, "-m", "gateway"]]
    if profile is None:
        return [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in commands]
    # each process under py-spy (sampling, collapsed stacks), written when the process stops
    profile.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [*SPY_ARGS, str(profile / f"{_label(cmd)}-{i}.txt"), "--", *cmd],
            env=env,
            start_new_session=True,
        )
        for i, cmd in enumerate(commands)
    ]


def _label(command: list[str]) -> str:
    """``orders`` for ``[py-spy ... --] python -m orders``, ``services`` for
    ``python -m esd_cli services ...``."""
    module = command[command.index("-m") + 1]
    return command[command.index("-m") + 2] if module == "esd_cli" else module


def stop_platform(children: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM) -> None:
    """Stop what start_platform started: ``sig`` to each (py-spy writes its profile on SIGINT),
    kill what does not stop in 15 s, then whatever is left of each one's process group (a
    granian worker whose parent died would keep the port for the next run)."""
    for child in children:
        child.send_signal(sig)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    for child in children:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)


async def prepare(
    http: httpx.AsyncClient, database_url: str, partners: int = 1
) -> tuple[list[dict[str, str]], str]:
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get("/ready")).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("platform did not become ready")
        await asyncio.sleep(0.5)
    ops = {"Authorization": f"Bearer {OPS_TOKEN}"}
    partners_headers = await asyncio.gather(
        *(live_partner(http, ops, index) for index in range(partners))
    )
    headers = partners_headers[0]
    while True:  # the catalog replica arrives over the bus
        products = await http.get("/api/v1/catalog/products?limit=100", headers=headers)
        if products.status_code == 200 and products.json()["items"]:
            break
        await asyncio.sleep(0.5)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        # measure orders, not the demo seed: wait until the gateway's replica holds the whole
        # catalog (3,370 ProductChanged events) and the relays are idle
        while True:
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM catalog.products) AS catalog, "
                "(SELECT count(*) FROM gateway.products) AS replica, "
                "(SELECT count(*) FROM catalog.outbox) AS backlog"
            )
            if (
                counts["catalog"]
                and counts["catalog"] == counts["replica"]
                and not counts["backlog"]
            ):
                break
            await asyncio.sleep(0.5)
        # the key source is not in the partner's product resource: read the gateway's replica
        rows = await conn.fetch("SELECT sku FROM gateway.products WHERE key_source = 'generator'")
    finally:
        await conn.close()
    generated = {row["sku"] for row in rows}
    sku = next(
        p["sku"]
        for p in products.json()["items"]
        if p["kind"] == "key"
        and not p["required_fields"]
        and p["active"]
        and Decimal(p["price"]) < 10000
        and p["sku"] in generated
    )
    return list(partners_headers), sku


def valid_inn(index: int) -> str:
    """A ten-digit ИНН with its control digit, different for each ``index``; the first is the
    one bench/soak.py's payments name."""
    if index == 0:
        return "7707083893"
    digits = [int(c) for c in f"77{index:07d}"]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    control = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(control)


async def approved_partner(
    http: httpx.AsyncClient, ops: dict[str, str], index: int = 0
) -> dict[str, Any]:
    """Apply and approve bench partner ``index``; returns the approval (``partner_id``,
    ``api_key``)."""
    application = await http.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО «Бенчмарк»" if index == 0 else f"ООО «Бенчмарк {index + 1}»",
            "inn": valid_inn(index),
            "email": f"b{index}@example.ru",
            "region": "Москва",
        },
    )
    approval = await http.post(
        f"/api/v1/admin/applications/{application.json()['application_id']}/approve",
        headers=ops,
    )
    approved: dict[str, Any] = approval.json()
    return approved


async def live_partner(http: httpx.AsyncClient, ops: dict[str, str], index: int) -> dict[str, str]:
    """Apply, approve, sign, go live and raise the credit limit: a partner that can order at
    full speed for the whole run; returns its API key's headers once its credit line is up."""
    approved = await approved_partner(http, ops, index)
    pid = approved["partner_id"]
    contract = {"number": f"B-{index + 1}", "date": "2026-01-01"}
    await http.post(f"/api/v1/admin/partners/{pid}/contract-signed", json=contract, headers=ops)
    await http.post(f"/api/v1/admin/partners/{pid}/go-live", headers=ops)
    await http.put(
        f"/api/v1/admin/partners/{pid}/credit",
        json={"limit": "1000000000.00", "term_days": 15},
        headers=ops,
    )
    headers = {"Authorization": f"Bearer {approved['api_key']}"}
    while True:  # the credit line arrives over the bus
        balance = await http.get("/api/v1/balance", headers=headers)
        if balance.status_code == 200 and balance.json()["limit"] == "1000000000.00":
            return headers
        await asyncio.sleep(0.5)


async def one_order(
    http: aiohttp.ClientSession, headers: dict[str, str], sku: str
) -> tuple[float, str]:
    started = time.perf_counter()
    async with http.post(
        "/api/v1/orders?wait=30",
        json={"external_id": uuid.uuid4().hex, "sku": sku, "quantity": 1},
        headers=headers,
    ) as answer:
        status = (await answer.json()).get("status", str(answer.status))
    return time.perf_counter() - started, status


def summary(latencies: list[float], statuses: list[str], elapsed: float) -> dict[str, float]:
    latencies = sorted(latencies)
    completed = statuses.count("completed")
    others = sorted({s for s in statuses if s != "completed"})
    if others:
        print(f"  not completed: {others[:5]}", flush=True)
    return {
        "completed": completed,
        "errors": len(statuses) - completed,
        "orders_per_s": completed / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


SHOPS = 64
"""Clients of the open-loop phase: orders come from many shops, each with its own connections."""


def shop(connections: int) -> aiohttp.ClientSession:
    """An HTTP client for placing orders, with up to ``connections`` (0: no limit).

    aiohttp rather than httpx (which sets the platform up): the driver shares the two cores with
    the platform, and aiohttp's client costs a third of httpx's CPU per order (0.7 ms against
    2.1 at full speed, measured 2026-11-28)."""
    return aiohttp.ClientSession(
        base_url=BASE,
        timeout=aiohttp.ClientTimeout(total=60),
        connector=aiohttp.TCPConnector(limit=connections),
    )


async def fixed_rate(
    shops: list[aiohttp.ClientSession],
    partners: list[dict[str, str]],
    sku: str,
    rate: float,
    seconds: float,
) -> dict[str, float]:
    tasks = []
    started = time.perf_counter()
    for index in range(int(rate * seconds)):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        shop = shops[index % len(shops)]
        headers = partners[index % len(partners)]
        tasks.append(asyncio.create_task(one_order(shop, headers, sku)))
    results = await asyncio.gather(*tasks)
    return summary([r[0] for r in results], [r[1] for r in results], time.perf_counter() - started)


async def full_speed(
    http: aiohttp.ClientSession,
    partners: list[dict[str, str]],
    sku: str,
    total: int,
    concurrency: int,
) -> dict[str, float]:
    semaphore = asyncio.Semaphore(concurrency)

    async def limited(headers: dict[str, str]) -> tuple[float, str]:
        async with semaphore:
            return await one_order(http, headers, sku)

    started = time.perf_counter()
    results = await asyncio.gather(*(limited(partners[i % len(partners)]) for i in range(total)))
    return summary([r[0] for r in results], [r[1] for r in results], time.perf_counter() - started)


def cpu_seconds(children: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU (user + system) used so far by each platform process (with its children, e.g.
    granian's worker), by RabbitMQ, by PostgreSQL's backends (live and exited) and by this
    driver."""

    def tree(proc: psutil.Process) -> float:
        total = 0.0
        for one in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = one.cpu_times()
                total += times.user + times.system
        return total

    used: dict[str, float] = {}
    for child in children:
        name = _label(child.args) if isinstance(child.args, list) else str(child.args)
        with contextlib.suppress(psutil.Error):
            used[name] = used.get(name, 0.0) + tree(psutil.Process(child.pid))
    for proc in psutil.process_iter(["name", "cmdline"]):
        label = None
        if proc.info["name"] in ("beam.smp", "erl_child_setup", "inet_gethost", "epmd"):
            label = "rabbitmq"
        elif proc.info["name"] == "postgres" or (proc.info["cmdline"] or [""])[0].startswith(
            "postgres"
        ):
            label = "postgresql"
        if label is not None:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                # a backend that exited (the baseline's pool, a gateway burst's overflow) left
                # its CPU in the postmaster's reaped-children times
                spent = times.user + times.system + times.children_user + times.children_system
                used[label] = used.get(label, 0.0) + spent
    me = psutil.Process().cpu_times()
    used["bench driver"] = me.user + me.system
    return used


def show_cpu(before: dict[str, float], after: dict[str, float], orders: float) -> None:
    """Milliseconds of CPU per completed order, per process, and each one's share of the total.

    The VM's speed swings by a fifth within minutes and scales every process alike, so to
    compare two versions of one part, compare its share over alternated runs, not its
    milliseconds (bench/RESULTS.md, session 13)."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    whole = sum(spent.values()) or 1.0
    parts = "  ".join(
        f"{name}={seconds * 1000 / orders:.1f} ({100 * seconds / whole:.0f}%)"
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
    )
    print(f"  cpu ms/order: total={whole * 1000 / orders:.1f}  {parts}", flush=True)


def show(name: str, figures: dict[str, float]) -> None:
    print(f"{name:<28}" + "  ".join(f"{k}={v:,.1f}" for k, v in figures.items()), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--full", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--extra-keys-workers", type=int, default=0)
    parser.add_argument(
        "--partners",
        type=int,
        default=1,
        help="orders spread round-robin over this many partners (1: every order on one credit "
        "line and one day's document)",
    )
    parser.add_argument(
        "--profile", type=Path, help="record a py-spy profile of every process into this folder"
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--together", action="store_true", help="the back-end services in one process"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    async with isolated_settings() as settings:
        baselines = []
        if not args.no_baseline:  # before the platform and after it (below): the VM's speed
            # drifts within minutes, and the ratio is taken against the mean of the two
            baselines.append(await baseline(settings, args))
        children = start_platform(settings, args.extra_keys_workers, args.profile, args.together)
        try:
            async with contextlib.AsyncExitStack() as stack:
                setup = httpx.AsyncClient(base_url=BASE, timeout=60)
                await stack.enter_async_context(setup)
                partners, sku = await prepare(setup, settings.database_url, args.partners)
                http = await stack.enter_async_context(shop(args.concurrency * 2))
                shops = [await stack.enter_async_context(shop(0)) for _ in range(SHOPS)]
                await full_speed(http, partners, sku, 200, 16)  # warm-up
                before = cpu_seconds(children)
                fixed = await fixed_rate(shops, partners, sku, args.rate, args.seconds)
                show(f"fixed {args.rate:g}/s x {args.seconds:g}s", fixed)
                show_cpu(before, cpu_seconds(children), fixed["completed"])
                before = cpu_seconds(children)
                full = await full_speed(http, partners, sku, args.full, args.concurrency)
                show(f"full speed c={args.concurrency}", full)
                show_cpu(before, cpu_seconds(children), full["completed"])
        finally:
            stop_platform(children, signal.SIGINT if args.profile else signal.SIGTERM)
        if args.no_baseline:
            return
        baselines.append(await baseline(settings, args))
        mean = sum(b["chains_per_s"] for b in baselines) / len(baselines)
        print(
            f"ratio orders/baseline: {full['orders_per_s'] / mean:.2f} (baseline mean {mean:.1f})"
        )


async def baseline(settings: Any, args: argparse.Namespace) -> dict[str, float]:
    before = _as_chain(cpu_seconds([]))
    figures = await run_baseline(
        settings.amqp_url, settings.sqlalchemy_url, args.full, args.concurrency
    )
    after = _as_chain(cpu_seconds([]))
    show(f"baseline {HOPS}-hop chain", figures)
    show_cpu(before, after, args.full)
    return figures


def _as_chain(used: dict[str, float]) -> dict[str, float]:
    """The chain runs in this process: the driver's CPU is the chain's, per component."""
    return {("chain" if name == "bench driver" else name): cpu for name, cpu in used.items()}


if __name__ == "__main__":
    # the driver and the baseline chain run on the services' own event loop (uvloop), so the
    # ratio compares the platform with the same stack, not with a slower loop
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main())
