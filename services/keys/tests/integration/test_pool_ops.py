"""Ops on key pools over the broker: LoadKeyPool with its duplicate report, stock levels, and
the StockLow alarm (once per crossing, re-armed by a reload)."""

from __future__ import annotations

import asyncio

import pytest
from esd_platform.testing import wait_for

from .conftest import Harness, issue_keys

pytestmark = pytest.mark.integration


class TestLoadKeyPool:
    async def test_loads_keys_and_reports_refusals_by_position(self, harness: Harness) -> None:
        report = await harness.load_pool(
            "LOAD-A", ["A-1", "A-2", " A-1 ", "", "A-3"], low_threshold=0
        )
        assert report.submitted == 5
        assert report.loaded == 3
        assert [(r.line, r.reason) for r in report.refused] == [
            (3, "duplicate_in_request"),
            (4, "empty"),
        ]
        assert report.available == 3
        assert "A-1" not in report.model_dump_json()  # keys are never echoed back

    async def test_same_file_twice_loads_once(self, harness: Harness) -> None:
        first = await harness.load_pool("LOAD-B", ["B-1", "B-2"], low_threshold=0)
        again = await harness.load_pool("LOAD-B", ["B-1", "B-2", "B-3"])
        assert first.loaded == 2
        assert again.loaded == 1
        assert [(r.line, r.reason) for r in again.refused] == [
            (1, "already_loaded"),
            (2, "already_loaded"),
        ]
        assert again.available == 3

    async def test_key_in_another_skus_pool_is_refused(self, harness: Harness) -> None:
        await harness.load_pool("LOAD-C1", ["SHARED-1"], low_threshold=0)
        report = await harness.load_pool("LOAD-C2", ["SHARED-1"], low_threshold=0)
        assert report.loaded == 0
        assert report.refused[0].reason == "already_loaded"

    async def test_issued_generated_key_cannot_be_loaded_into_a_pool(
        self, harness: Harness
    ) -> None:
        cmd = issue_keys(sku="GEN-P", quantity=1)
        await harness.publish(cmd)
        await harness.outcome(cmd.order_id)
        key = (await harness.order_keys(cmd.order_id, cmd.partner_id)).keys[0].activation_code
        report = await harness.load_pool("GEN-P", [key], low_threshold=0)
        assert [(r.line, r.reason) for r in report.refused] == [(1, "already_issued")]

    async def test_loaded_keys_are_stored_encrypted(self, harness: Harness) -> None:
        await harness.load_pool("LOAD-E", ["VISIBLE-PLAINTEXT-KEY"], low_threshold=0)
        assert "VISIBLE-PLAINTEXT-KEY" not in repr(await harness.sql("SELECT * FROM pool_key"))


class TestStock:
    async def test_levels_per_sku_follow_orders(self, harness: Harness) -> None:
        await harness.load_pool("STOCK-A", [f"SA-{i}" for i in range(5)], low_threshold=2)
        cmd = issue_keys(sku="STOCK-A", quantity=2, key_source="pool")
        await harness.publish(cmd)
        await harness.outcome(cmd.order_id)
        [item] = (await harness.stock("STOCK-A")).items
        assert (item.sku, item.available, item.issued, item.low_threshold, item.low) == (
            "STOCK-A",
            3,
            2,
            2,
            False,
        )
        everything = await harness.stock()
        assert "STOCK-A" in {i.sku for i in everything.items}
        assert len(everything.items) > 1


class TestStockLow:
    async def test_fires_once_when_crossing_and_again_after_a_reload(
        self, harness: Harness
    ) -> None:
        def alarms() -> list[dict[str, object]]:
            return [e for e in harness.stock_low if e["sku"] == "LOW-A"]

        await harness.load_pool("LOW-A", [f"LA-{i}" for i in range(6)], low_threshold=3)
        for quantity in (2, 2, 1):  # 6 -> 4 -> 2 (crossing) -> 1 (still low: no new alarm)
            cmd = issue_keys(sku="LOW-A", quantity=quantity, key_source="pool")
            await harness.publish(cmd)
            await harness.outcome(cmd.order_id)

        async def one_alarm() -> bool:
            return len(alarms()) == 1

        await wait_for(one_alarm, what="one StockLow")
        assert alarms()[0]["available"] == 2
        assert alarms()[0]["low_threshold"] == 3
        await harness.load_pool("LOW-A", [f"LA-new-{i}" for i in range(5)])  # 6: re-armed
        cmd = issue_keys(sku="LOW-A", quantity=4, key_source="pool")  # 6 -> 2
        await harness.publish(cmd)
        await harness.outcome(cmd.order_id)

        async def two_alarms() -> bool:
            return len(alarms()) == 2

        await wait_for(two_alarms, what="a second StockLow")
        await asyncio.sleep(0.3)
        assert len(alarms()) == 2
