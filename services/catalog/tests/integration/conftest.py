"""A catalog schema on the real PostgreSQL without a broker: the use cases write their rows and
stage their events in the outbox, which these tests read instead of relaying."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from esd_platform.settings import PlatformSettings
from esd_platform.testing import DEFAULT_DATABASE_URL, offline_unit_of_work
from esd_platform.uow import UnitOfWork
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
async def uow() -> AsyncIterator[UnitOfWork]:
    base = PlatformSettings(database_url=os.environ.get("ESD_DATABASE_URL", DEFAULT_DATABASE_URL))
    url = make_url(base.sqlalchemy_url)
    name = f"esd_test_catalog_{uuid.uuid4().hex[:10]}"

    async def admin() -> asyncpg.Connection:
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database="postgres",
        )

    conn = await admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    settings = PlatformSettings(
        database_url=url.set(database=name).render_as_string(hide_password=False)
    )
    try:
        async with offline_unit_of_work(settings, "catalog", MIGRATIONS) as uow:
            yield uow
    finally:
        conn = await admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
