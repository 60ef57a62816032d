"""RabbitMQ restarted mid-load, PostgreSQL restarted mid-load.

Never the machine's servers: a private RabbitMQ node and a private PostgreSQL cluster are
started for this module (:mod:`tests.faults.servers`, loopback, free ports, temporary
directories) and only they are stopped and started. Each test runs the platform on a vhost and
database of its own on them, loads orders, restarts one server while the load goes on (down for
a few seconds), and then checks the invariants of :mod:`tests.faults.harness`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from esd_platform.db import ensure_database
from esd_platform.settings import PlatformSettings

from tests.faults.harness import check_invariants, run_load
from tests.faults.servers import (
    PrivatePostgres,
    PrivateRabbit,
    postgres_missing,
    rabbit_missing,
)
from tests.support import Platform, running_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 18
FAULT_AT = 6
DOWN_FOR = 3.0


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PrivateRabbit, PrivatePostgres]]:
    missing = rabbit_missing() or postgres_missing()
    if missing:
        pytest.skip(f"private servers for the restart faults cannot start here: {missing}")
    rabbit, postgres = PrivateRabbit(), PrivatePostgres()
    try:
        rabbit.start()
        postgres.init()
        postgres.start()
        yield rabbit, postgres
    finally:
        rabbit.close()
        postgres.close()


@asynccontextmanager
async def platform_on(rabbit: PrivateRabbit, postgres: PrivatePostgres) -> AsyncIterator[Platform]:
    token = uuid.uuid4().hex[:8]
    vhost = f"esd_fault_{token}"
    await asyncio.to_thread(rabbit.add_vhost, vhost)
    settings = PlatformSettings(
        env="test",
        database_url=postgres.url.rsplit("/", 1)[0] + f"/esd_fault_{token}",
        amqp_url=rabbit.url + vhost,
    )
    await ensure_database(settings)  # once, before six services race to create it
    async with running_platform(settings) as platform:
        yield platform


def outage(stop: object, start: object) -> None:
    stop()  # type: ignore[operator]
    time.sleep(DOWN_FOR)
    start()  # type: ignore[operator]


async def test_rabbitmq_restarted_mid_load(servers: tuple[PrivateRabbit, PrivatePostgres]) -> None:
    rabbit, postgres = servers
    async with platform_on(rabbit, postgres) as platform:
        restarting: list[asyncio.Task[None]] = []

        async def restart() -> None:  # the load goes on while the broker is down
            restarting.append(
                asyncio.create_task(asyncio.to_thread(outage, rabbit.stop, rabbit.start))
            )

        load = await run_load(platform, ORDERS, {FAULT_AT: restart}, prefix="rmq-restart")
        await asyncio.gather(*restarting)
        await check_invariants(platform, load)


async def test_postgresql_restarted_mid_load(
    servers: tuple[PrivateRabbit, PrivatePostgres],
) -> None:
    rabbit, postgres = servers
    async with platform_on(rabbit, postgres) as platform:
        restarting: list[asyncio.Task[None]] = []

        async def restart() -> None:
            restarting.append(
                asyncio.create_task(asyncio.to_thread(outage, postgres.stop, postgres.start))
            )

        load = await run_load(platform, ORDERS, {FAULT_AT: restart}, prefix="pg-restart")
        await asyncio.gather(*restarting)
        await check_invariants(platform, load)
