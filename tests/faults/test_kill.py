"""kill -9 of one service mid-load, which stays down while the rest of the load piles up
(test_kill_each.py: each started again at once, the gateway too): after the restart every
accepted order completes, no key is issued twice, no order is billed twice, the credit ledger
balances and no outbox holds a message (the invariants of :mod:`tests.faults.harness`)."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from esd_platform.testing import isolated_settings

from tests.faults.harness import check_invariants, kill9, run_load, stop_all
from tests.support import running_platform, service_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 24
KILL_AT = 9


@pytest.mark.parametrize("victim", ["orders", "credit", "keys", "billing"])
async def test_killed_service_restarts_and_every_order_completes_once(victim: str) -> None:
    async with isolated_settings() as settings:
        processes: list[subprocess.Popen[bytes]] = [service_process(victim, settings)]
        try:
            async with running_platform(settings, exclude=(victim,)) as platform:

                async def kill() -> None:  # mid-load, with messages in flight
                    await kill9(processes[-1])

                # the rest of the load piles up while the victim is dead; then it starts again
                load = await run_load(platform, ORDERS, {KILL_AT: kill}, prefix=f"kill-{victim}")
                await asyncio.sleep(1.0)
                processes.append(service_process(victim, settings))
                await check_invariants(platform, load)
        finally:
            stop_all(processes)
