"""Test support: an isolated database and RabbitMQ vhost per test platform.

Queue names are fixed by the topology, so two platforms in one vhost would steal each other's
messages; every test platform therefore gets its own vhost (created with ``rabbitmqctl``) and its
own database, both dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from sqlalchemy.engine import make_url

from esd_platform.db import admin_connect_args
from esd_platform.settings import PlatformSettings

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    proc = await asyncio.create_subprocess_exec(
        ctl, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {err.decode()[-500:]}")


async def _admin(settings: PlatformSettings, statement: str) -> None:
    admin = await asyncpg.connect(**admin_connect_args(settings))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


@asynccontextmanager
async def isolated_settings(**overrides: object) -> AsyncIterator[PlatformSettings]:
    """Settings pointing at a brand-new database and vhost; both are dropped on exit."""
    token = uuid.uuid4().hex[:10]
    base_db = os.environ.get("ESD_DATABASE_URL", DEFAULT_DATABASE_URL)
    base_amqp = os.environ.get("ESD_AMQP_URL", DEFAULT_AMQP_URL)
    db_name = f"esd_test_{token}"
    vhost = f"esd_test_{token}"
    base = PlatformSettings(database_url=base_db)
    url = make_url(base.sqlalchemy_url)
    await _admin(base, f'CREATE DATABASE "{db_name}"')
    await _rabbitmqctl("add_vhost", vhost)
    await _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    settings = PlatformSettings(
        env="test",
        database_url=url.set(database=db_name).render_as_string(hide_password=False),
        amqp_url=_with_vhost(base_amqp, vhost),
        **overrides,  # type: ignore[arg-type]
    )
    try:
        yield settings
    finally:
        await _rabbitmqctl("delete_vhost", vhost)
        await _admin(base, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
