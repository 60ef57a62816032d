"""kill -9 of each remaining service in turn, mid-load (keys and billing: test_kill.py).

orders, credit and catalog run as processes of their own and are killed one after another
during one load, each started again at once; the gateway runs as its own HTTP process that the
partner talks to, is killed mid-load, and the partner retries what failed (same external_id)
while it is down. After each: the invariants of :mod:`tests.faults.harness`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable

import httpx
import pytest
from esd_platform.settings import PlatformSettings
from esd_platform.testing import isolated_settings

from tests.faults.harness import check_invariants, kill9, run_load, stop_all
from tests.faults.servers import free_port
from tests.support import OPS_TOKEN, running_platform, service_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 21
VICTIMS = {4: "orders", 10: "credit", 16: "catalog"}


async def test_orders_credit_and_catalog_killed_in_turn_mid_load() -> None:
    async with isolated_settings() as settings:
        processes = {name: service_process(name, settings) for name in VICTIMS.values()}
        try:
            async with running_platform(settings, exclude=tuple(VICTIMS.values())) as platform:

                def kill(name: str) -> Callable[[], Awaitable[None]]:
                    async def fault() -> None:
                        await kill9(processes[name])  # messages in flight
                        await asyncio.sleep(0.3)
                        processes[name] = service_process(name, settings)

                    return fault

                load = await run_load(
                    platform,
                    ORDERS,
                    {at: kill(name) for at, name in VICTIMS.items()},
                    prefix="kill-each",
                )
                await check_invariants(platform, load)
        finally:
            stop_all(processes.values())


def gateway_process(settings: PlatformSettings, port: int) -> subprocess.Popen[bytes]:
    """The gateway as its own HTTP process on loopback (uvicorn: one process to kill)."""
    env = dict(os.environ)
    env.update(
        ESD_ENV=settings.env,
        ESD_DATABASE_URL=settings.database_url,
        ESD_AMQP_URL=settings.amqp_url,
        ESD_OPS_TOKEN=OPS_TOKEN,
        ESD_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "gateway.asgi:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
    )


async def wait_up(url: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while True:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "gateway process not up"
            await asyncio.sleep(0.2)


async def test_gateway_killed_mid_load() -> None:
    kill_at, restart_at = 7, 12
    async with isolated_settings() as settings, running_platform(settings) as platform:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = gateway_process(settings, port)
        try:
            await wait_up(url)
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:

                async def kill() -> None:
                    await kill9(process)

                async def restart() -> None:
                    nonlocal process
                    process = gateway_process(settings, port)
                    await wait_up(url)

                # the partner talks to the gateway process; while it is dead its orders fail
                # (connection refused) and are sent again after the fault, same external_id
                load = await run_load(
                    platform,
                    ORDERS,
                    {kill_at: kill, restart_at: restart},
                    client=lambda _: http,
                    prefix="kill-gw",
                )
                assert len(load.failed) >= restart_at - kill_at
                await check_invariants(platform, load)
        finally:
            stop_all([process])
