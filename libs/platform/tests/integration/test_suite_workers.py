"""How many test files ``make test`` runs at once (``-n auto``): PostgreSQL's max_connections
decides, since every test platform keeps pools of its own."""

from __future__ import annotations

import asyncio

import asyncpg
from esd_platform.db import admin_connect_args
from esd_platform.settings import PlatformSettings
from esd_platform.testing import FULL_SUITE_CONNECTIONS, server_max_connections, suite_workers


def test_two_test_files_at_once_where_the_server_allows_two_platforms() -> None:
    assert suite_workers(400) == 2
    assert suite_workers(FULL_SUITE_CONNECTIONS) == 2


def test_one_at_a_time_on_debians_default_of_100() -> None:
    assert suite_workers(100) == 1
    assert suite_workers(FULL_SUITE_CONNECTIONS - 1) == 1


def test_two_when_the_server_does_not_answer() -> None:
    """The tests then fail on the database with its own error, not on the worker count."""
    assert suite_workers(None) == 2


async def test_the_servers_own_figure() -> None:
    settings = PlatformSettings()
    conn = await asyncpg.connect(**admin_connect_args(settings))
    try:
        expected = int(await conn.fetchval("SHOW max_connections"))
    finally:
        await conn.close()
    # asked on a loop of its own, as pytest-xdist's hook runs before any test loop
    assert await asyncio.to_thread(server_max_connections, settings) == expected


async def test_none_from_a_server_that_is_not_there() -> None:
    unreachable = PlatformSettings(database_url="postgresql://postgres@127.0.0.1:1/esd")
    assert await asyncio.to_thread(server_max_connections, unreachable) is None
