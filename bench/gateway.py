"""The gateway's read path under load: requests/s and p99 of `GET /api/v1/balance` and
`GET /api/v1/orders/{id}` with 64 connections, against a bare Litestar hello-world served the
same way (granian, one worker) on the same machine.

    .venv/bin/python bench/gateway.py [--seconds 10] [--connections 64] [--threads 2]

Load comes from wrk (Debian's ``wrk`` package: C, so the client costs little of the two cores).
Starts its own platform (every service as its own process, the gateway under granian with one
worker) on a fresh database and vhost, as `make run` does, approves a partner with a budget high
enough that the rate limiter never answers 429, and completes one order. The first `balance`
asks the credit service over RabbitMQ and the first `orders/{id}` the keys service; the repeated
reads that follow (a shop polling) are answered from the gateway's memory until credit announces
a change (services/gateway/src/gateway/http/hot_reads.py). `/health` is the app's own floor
(Litestar and the middleware, no auth). Target: within 2x of the hello-world's requests/s.
Prints the figures; record them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from esd_platform.testing import isolated_settings
from orders import BASE, PORT, prepare, start_platform, stop_platform

HELLO_PORT = PORT + 10
HERE = Path(__file__).resolve().parent
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    url: str, headers: dict[str, str], seconds: int, connections: int, threads: int
) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 in ms, and the non-2xx count."""
    args = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        "p50": latency("50%"),
        "p99": latency("99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def hello_world(workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(HERE))
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(HELLO_PORT),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "hello_litestar:app",
        ],
        env=env,
    )


async def completed_order(http: httpx.AsyncClient, headers: dict[str, str], sku: str) -> str:
    answer = await http.post(
        "/api/v1/orders?wait=30",
        json={"external_id": uuid.uuid4().hex, "sku": sku, "quantity": 1},
        headers=headers,
    )
    assert answer.json()["status"] == "completed", answer.text
    return str(answer.json()["id"])


def row(name: str, figures: dict[str, float], yardstick: float) -> str:
    ratio = figures["rps"] / yardstick if yardstick else float("nan")
    return (
        f"| {name} | {figures['rps']:,.0f} | {figures['p50']:.1f} ms | {figures['p99']:.1f} ms | "
        f"{figures['non_2xx']:.0f} | {ratio:.2f} |"
    )


def measure_hello(run: tuple[int, int, int], workers: int) -> dict[str, float]:
    hello = hello_world(workers)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{HELLO_PORT}/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        return wrk(f"http://127.0.0.1:{HELLO_PORT}/", {}, *run)
    finally:
        hello.terminate()
        hello.wait(timeout=15)


async def measure_gateway(
    run: tuple[int, int, int], workers: int
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    os.environ.update(  # the platform inherits these: no rate limiting in the way of the load
        ESD_RATE_LIMIT_PER_SECOND="1000000",
        ESD_RATE_LIMIT_BURST="1000000",
        ESD_GATEWAY_WORKERS=str(workers),
    )
    async with isolated_settings() as settings:
        processes = start_platform(settings)
        try:
            async with httpx.AsyncClient(base_url=BASE, timeout=60) as http:
                partners, sku = await prepare(http, settings.database_url)
                headers = partners[0]
                order_id = await completed_order(http, headers, sku)
            health = await asyncio.to_thread(wrk, f"{BASE}/health", {}, *run)
            balance = await asyncio.to_thread(wrk, f"{BASE}/api/v1/balance", headers, *run)
            order = await asyncio.to_thread(wrk, f"{BASE}/api/v1/orders/{order_id}", headers, *run)
        finally:
            stop_platform(processes)
    return health, balance, order


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=1, help="granian workers, the gateway's and hello-world's"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f"; load average before: {os.getloadavg()[0]:.2f}"
    )
    run = (args.seconds, args.connections, args.threads)
    bare = measure_hello(run, args.workers)
    health, balance, order = asyncio.run(measure_gateway(run, args.workers))
    print(f"\nwrk, {args.connections} connections, {args.threads} threads, {args.seconds} s each")
    print("| request | requests/s | p50 | p99 | non-2xx | vs hello-world |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row(f"bare Litestar hello-world (granian, {args.workers} worker(s))", bare, bare["rps"]))
    print(row("GET /health (no auth: Litestar and the middleware)", health, bare["rps"]))
    print(row("GET /api/v1/balance (repeated: from memory)", balance, bare["rps"]))
    print(row("GET /api/v1/orders/{id} (completed, repeated)", order, bare["rps"]))
    print("target: each within 2x of the hello-world, i.e. 'vs hello-world' >= 0.50")


if __name__ == "__main__":
    main()
