"""``Statement``: a ``:named`` statement compiled once by SQLAlchemy, run on asyncpg itself."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest
from esd_platform.db import Statement, create_engine
from esd_platform.testing import isolated_settings
from sqlalchemy import text

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
            # by attribute too, as SQLAlchemy's rows: code reading rows need not know the driver
            assert (row.day, row.id, row.same) == (date(2026, 11, 27), order, True)
            with pytest.raises(AttributeError):
                _ = row.missing
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


async def test_first_and_all_run_on_either_connection_inside_its_transaction() -> None:
    async with isolated_settings() as settings:
        engine = create_engine(settings, "test", "public")
        insert = Statement("INSERT INTO t (n) VALUES (:n) RETURNING n")
        count = Statement("SELECT count(*) AS n FROM t WHERE n >= :n")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (n int)"))
            # through SQLAlchemy: inside the transaction it began, though it had sent nothing
            # yet (asyncpg's dialect begins on the first statement it runs itself)
            async with engine.connect() as conn:
                await conn.begin()
                assert (await insert.first(conn, {"n": 1})).n == 1
                await conn.rollback()
            # on the driver: directly, inside the transaction the caller began there
            async with engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
                async with driver.transaction():
                    assert (await insert.first(driver, {"n": 2}))["n"] == 2
                for db in (conn, driver):
                    assert [row.n for row in await count.all(db, {"n": 0})] == [1]
        finally:
            await engine.dispose()
