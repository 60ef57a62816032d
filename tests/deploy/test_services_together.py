"""``esd services orders credit keys billing``: the saga's services side by side in one process
over the real broker. An order completes through it, each log line names its own service, and
SIGTERM stops all of them gracefully."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid

import pytest
from esd_cli.launcher import backend_commands
from esd_platform.testing import isolated_settings

from tests.faults.harness import simple_product
from tests.support import running_platform, service_process

pytestmark = [pytest.mark.integration]

TOGETHER = ("orders", "credit", "keys", "billing")


async def test_an_order_completes_through_one_process_hosting_the_saga() -> None:
    async with isolated_settings() as settings:
        process = service_process(
            "esd_cli",
            settings,
            "services",
            *TOGETHER,
            env={"ESD_LOG_LEVEL": "INFO"},
            stderr=subprocess.PIPE,
        )
        try:
            async with running_platform(settings, exclude=TOGETHER) as platform:
                partner = await platform.new_partner()
                product = await simple_product(platform)
                placed = await platform.order(
                    partner,
                    {"external_id": uuid.uuid4().hex, "sku": product["sku"], "quantity": 2},
                    wait=30,
                )
                order = await platform.final_order(partner, placed["id"])
                assert order["status"] == "completed"
                assert len({key["activation_code"] for key in order["keys"]}) == 2
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0  # stopped gracefully, not killed

    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    by_service = {line.get("service") for line in lines if line.get("correlation_id")}
    # the order's lines come from each service by its own name, not the process's
    assert {"orders", "keys"} <= by_service, by_service
    assert not any(name and "+" in name for name in by_service), by_service
    # a service process runs on uvloop (less CPU per message than asyncio's loop)
    started = {
        line["service"]: line["event_loop"] for line in lines if line["event"] == "service_started"
    }
    assert started == dict.fromkeys(TOGETHER, "uvloop"), started


def test_run_together_starts_one_process_for_the_backend_plus_extra_keys_workers() -> None:
    separate = backend_commands(keys_workers=2)
    assert [c[-1] for c in separate] == ["catalog", "orders", "credit", "keys", "keys", "billing"]
    together = backend_commands(keys_workers=2, together=True)
    assert together[0][-6:] == ["services", "catalog", "orders", "credit", "keys", "billing"]
    assert [c[-1] for c in together[1:]] == ["keys"]
