"""Connection pools: how many connections each kind of service keeps and may open.

A connection opened and closed per burst costs PostgreSQL a fork, an authentication and every
statement prepared again (bench/RESULTS.md), so what a service keeps is deliberate: a consumer
keeps ``db_pool_size`` and never overflows (its load is bounded by the prefetch), the gateway
keeps ``BURST_KEPT`` times that and overflows for bursts beyond it.
"""

from __future__ import annotations

import pytest
from esd_platform.db import BURST_KEPT, create_engine
from esd_platform.settings import PlatformSettings
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


@pytest.fixture
def engines() -> dict[str, AsyncEngine]:
    settings = PlatformSettings(db_pool_size=5)
    # no connection is opened: nothing to dispose of
    return {name: create_engine(settings, name, name) for name in ("orders", "gateway")}


def _pool(engine: AsyncEngine) -> QueuePool:
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    return pool


def test_a_consumer_keeps_its_pool_and_never_overflows(engines: dict[str, AsyncEngine]) -> None:
    pool = _pool(engines["orders"])
    assert pool.size() == 5
    assert pool._max_overflow == 0


def test_the_gateway_keeps_more_for_its_bursts_and_may_overflow(
    engines: dict[str, AsyncEngine],
) -> None:
    assert BURST_KEPT > 1
    pool = _pool(engines["gateway"])
    assert pool.size() == 5 * BURST_KEPT
    assert pool._max_overflow == 5
