"""``Statement``: a ``:named`` statement compiled once by SQLAlchemy, run on asyncpg itself."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest
from esd_platform.db import Statement
from esd_platform.testing import isolated_settings

pytestmark = pytest.mark.integration


def test_names_become_positions_once_each_and_casts_stay() -> None:
    statement = Statement("SELECT CAST(:day AS date), :id, :id, 'a::b', x::int FROM t WHERE y = :y")
    assert statement.sql == "SELECT CAST($1 AS date), $2, $2, 'a::b', x::int FROM t WHERE y = $3"


async def test_it_runs_on_the_driver_with_the_values_by_name() -> None:
    async with isolated_settings() as settings:
        driver = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
        try:
            order = uuid.uuid4()
            echo = Statement(
                "SELECT CAST(:day AS date) AS day, CAST(:id AS uuid) AS id, :id = :other AS same"
            )
            params = {"id": order, "other": order, "day": date(2026, 11, 27), "unused": 1}
            row = await echo.fetchrow(driver, params)
            assert (row["day"], row["id"], row["same"]) == (date(2026, 11, 27), order, True)
            assert await Statement("SELECT :n + 1").fetchval(driver, {"n": 41}) == 42
            assert [
                r[0]
                for r in await Statement("SELECT unnest(CAST(:xs AS int[]))").fetch(
                    driver, {"xs": [1, 2]}
                )
            ] == [1, 2]
            assert (
                await Statement("SELECT 1 WHERE :flag").execute(driver, {"flag": False})
                == "SELECT 0"
            )
        finally:
            await driver.close()
