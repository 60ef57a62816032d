"""Test support: an isolated database and RabbitMQ vhost per test platform.

Queue names are fixed by the topology, so two platforms in one vhost would steal each other's
messages; every test platform therefore gets its own vhost (created with ``rabbitmqctl``) and its
own database, both dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from esd_contracts.envelope import Message
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from esd_platform.clock import Clock
from esd_platform.db import admin_connect_args, create_engine
from esd_platform.messaging import make_broker, topic_exchange
from esd_platform.migrations import migrate
from esd_platform.outbox import Outbox
from esd_platform.settings import PlatformSettings
from esd_platform.uow import UnitOfWork

Reply = TypeVar("Reply", bound=BaseModel)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


_CTL_LOCK = Path(tempfile.gettempdir()) / "esd-rabbitmqctl.lock"


def _owner_alive(name: str) -> bool:
    """Test vhosts are named ``esd_test_<pid>_<token>``: is the process that made it running?
    (Several test runs and benchmarks share this broker; only the dead ones' vhosts go.)"""
    parts = name.split("_")
    if len(parts) != 4 or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


FULL_SUITE_CONNECTIONS = 200
"""PostgreSQL connections the suite's two workers need, with room to spare: each runs a test
platform of its own, in which every service keeps a pool and the gateway three times as many
(``db_pool_size``). Sampled every 0.5 s through whole runs (2026-11-28): two workers peaked at
96 client connections, one at 76; Debian's default of 100 leaves 97 to clients."""


def suite_workers(max_connections: int | None) -> int:
    """Test files the suite runs at once (pytest-xdist workers): two, or one where PostgreSQL
    allows fewer than :data:`FULL_SUITE_CONNECTIONS` (Debian's default 100 holds one test
    platform's pools, not two). ``None`` (the server did not answer): two; the tests then fail
    on the database with its own error."""
    if max_connections is not None and max_connections < FULL_SUITE_CONNECTIONS:
        return 1
    return 2


def server_max_connections(settings: PlatformSettings | None = None) -> int | None:
    """The PostgreSQL server's ``max_connections``, or ``None`` when it cannot be asked."""
    settings = settings or PlatformSettings()

    async def ask() -> int:
        conn = await asyncpg.connect(**admin_connect_args(settings), timeout=5)
        try:
            return int(await conn.fetchval("SHOW max_connections"))
        finally:
            await conn.close()

    try:
        return asyncio.run(ask())
    except (OSError, asyncpg.PostgresError, TimeoutError, ValueError):
        return None


def sweep_test_vhosts() -> None:
    """Delete test vhosts left by earlier runs (killed or timed out) whose process is gone."""
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    try:
        listed = subprocess.run(  # noqa: S603 - fixed command
            [ctl, "-q", "list_vhosts", "--no-table-headers"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    for name in listed.stdout.decode().split():
        if name.startswith("esd_test_") and not _owner_alive(name):
            with contextlib.suppress(Exception):
                _rabbitmqctl_locked(("delete_vhost", name), 20, 1)


def _run_ctl(args: list[str], timeout: float) -> tuple[int, str]:
    """Run one rabbitmqctl in its own process group; on timeout kill it and its Erlang CLI node.

    Debian's ``rabbitmqctl`` re-executes itself as the ``rabbitmq`` user through ``su``, which
    starts a new session: killing our process group leaves that CLI node alive, holding one of
    the eleven distribution ports and our pipes. So the node is found by its command line and
    killed too, and the pipes are read with a deadline, never waited on for ever.
    """
    child = subprocess.Popen(  # noqa: S603 - fixed command, our own arguments
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        _kill_cli_nodes(args[1:])
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.communicate(timeout=5)
        with contextlib.suppress(OSError):
            child.kill()
        return -1, "timed out"
    return child.returncode, err.decode()[-500:]


def _kill_cli_nodes(args: list[str]) -> None:
    """Kill every rabbitmqctl process (any user) whose command line carries ``args``."""
    wanted = [a.encode() for a in args]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parts = cmdline.replace(b"\0", b" ")
        if b"rabbitmqctl" in parts and all(a in parts for a in wanted):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def _rabbitmqctl_locked(args: tuple[str, ...], timeout: float = 30, attempts: int = 5) -> None:
    """One ``rabbitmqctl`` at a time on this machine, retried: each call boots an Erlang CLI
    node that needs a distribution port from a range of eleven, so parallel test processes
    calling it at once fail with ``nodistribution``."""
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    error = ""
    with _CTL_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in range(attempts):
            code, error = _run_ctl([ctl, *args], timeout)
            if code == 0:
                return
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {error}")


async def _rabbitmqctl(*args: str, seconds: float = 30, attempts: int = 5) -> None:
    await asyncio.to_thread(_rabbitmqctl_locked, args, seconds, attempts)


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
async def offline_unit_of_work(
    settings: PlatformSettings, schema: str, migrations: Path
) -> AsyncIterator[UnitOfWork]:
    """One service's migrated schema in ``settings``' database and a UnitOfWork on it whose
    outbox is never started: the use cases' rows and staged messages stay to be read."""
    engine = create_engine(settings, schema, schema)
    try:
        await migrate(engine, schema, migrations)
        outbox = Outbox(engine, make_broker(settings, schema), schema)
        yield UnitOfWork(engine, outbox, schema, Clock())
    finally:
        await engine.dispose()


@asynccontextmanager
async def isolated_settings(**overrides: object) -> AsyncIterator[PlatformSettings]:
    """Settings pointing at a brand-new database and vhost; both are dropped on exit."""
    token = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
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
        await _admin(base, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        # Best effort, bounded: a broker busy tearing down quorum queues must not hang the run;
        # sweep_test_vhosts() removes whatever is left when no test is connected.
        with contextlib.suppress(Exception):
            await _rabbitmqctl("delete_vhost", vhost, seconds=20, attempts=1)


async def wait_for(
    predicate: Callable[[], Awaitable[bool]],
    timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline, not a cancellation scope
    what: str = "condition",
) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met in {timeout}s")
        await asyncio.sleep(0.05)


async def publish(broker: RabbitBroker, message: Message) -> None:
    """Send a contract message as a service's outbox relay would (same envelope, persistent)."""
    await broker.publish(
        message.model_dump_json().encode(),
        exchange=topic_exchange(message.exchange_name()),
        routing_key=message.message_type(),
        persist=True,
        content_type="application/json",
        **message.envelope(),
    )


async def ask(
    broker: RabbitBroker,
    query: Message,
    answer: type[Reply],
    timeout: float = 10,  # noqa: ASYNC109 - the broker's reply timeout, passed through
) -> Reply:
    """Request/reply over direct reply-to, as the gateway asks a service."""
    reply = await broker.request(
        query.model_dump_json().encode(),
        exchange=topic_exchange(query.exchange_name()),
        routing_key=query.message_type(),
        timeout=timeout,
        content_type="application/json",
        **query.envelope(),
    )
    return answer.model_validate_json(reply.body)


@contextlib.contextmanager
def traced() -> Iterator[Any]:
    """Tracing on for services built inside the block: an SDK tracer provider whose spans go
    to the in-memory exporter yielded; the process's tracing globals are reset afterwards, so
    services built later run untraced again."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    def reset() -> None:  # what OpenTelemetry's own test utilities do
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reset()
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        reset()
