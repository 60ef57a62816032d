"""The runtime of one service: settings, engine, migrations, broker, outbox relay, clock.

A service module builds a :class:`Service` and registers its routers; ``run()`` is its
``main``. Several services can also share one event loop: the embedded run, the tests, and a
process that hosts several of them over the real broker (:func:`run_together`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog
from esd_contracts.envelope import Message
from esd_contracts.platform.events import ClockSet
from faststream.rabbit import QueueType, RabbitBroker, RabbitQueue, RabbitRouter
from faststream.rabbit.subscriber import RabbitSubscriber
from sqlalchemy import text

from esd_platform.allocator import tune_allocator
from esd_platform.clock import Clock
from esd_platform.db import create_engine, ensure_database
from esd_platform.logging import configure_logging, get_logger
from esd_platform.messaging import declare_topology, make_broker, topic_exchange
from esd_platform.migrations import migrate
from esd_platform.observability import instrument
from esd_platform.outbox import Outbox
from esd_platform.settings import PlatformSettings
from esd_platform.uow import UnitOfWork

ATTACH_ATTEMPTS = 5

Hook = Callable[["Service"], Awaitable[None]]


class Service:
    """Everything one service process owns, built in one place (the composition root)."""

    def __init__(
        self,
        name: str,
        *,
        migrations: Path,
        settings: PlatformSettings | None = None,
        schema: str | None = None,
    ) -> None:
        self.name = name
        self.schema = schema or name
        self.settings = settings or PlatformSettings()
        self.migrations = migrations
        self.clock = Clock()
        self.engine = create_engine(self.settings, name, self.schema)
        self.broker = make_broker(self.settings, name)
        self.outbox = Outbox(self.engine, self.broker, self.schema)
        self.uow = UnitOfWork(self.engine, self.outbox, self.schema, self.clock)
        self.log = get_logger(f"esd.{name}")
        self._on_start: list[Hook] = []
        self._on_stop: list[Hook] = []
        self._started = False
        self._broker_external = False
        self._routers: list[RabbitRouter] = []
        instrument(self)  # broker metrics; /metrics, /health, /ready on ESD_METRICS_PORT if set

    def include(self, router: RabbitRouter) -> None:
        self._routers.append(router)
        self.broker.include_router(router)

    def attach(self, broker: RabbitBroker) -> None:
        """Consume and publish through ``broker`` instead of this service's own: the embedded
        run puts every service on one in-memory broker. Call before :meth:`start`."""
        self.broker = broker
        self.outbox.use_broker(broker)
        for router in self._routers:
            broker.include_router(router)

    def publishes(self, *messages: type[Message]) -> None:
        """Declare, for the AsyncAPI document, what this service sends through its outbox."""
        for message in messages:
            self.broker.publisher(
                exchange=topic_exchange(message.exchange_name()),
                routing_key=message.message_type(),
                persist=True,
                title=message.message_type(),
                description=message.__doc__,
                schema=message,
                message_type=message.message_type(),
            )

    def on_start(self, hook: Hook) -> None:
        """Run ``hook`` after migrations and broker start (e.g. seeding, background tasks)."""
        self._on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self._on_stop.append(hook)

    async def start(self, *, broker_running: bool = False) -> None:
        """Migrate, then consume. ``broker_running``: an in-memory broker (the embedded run)
        was started around this service, so there is nothing to connect or declare."""
        await ensure_database(self.settings)
        await migrate(self.engine, self.schema, self.migrations)
        if self.settings.is_test:
            await self._restore_clock()
            clock = self._subscribe_clock()
            if broker_running:  # subscribed after the broker started: start it by hand
                await clock.start()
        if not broker_running:
            await self._attach_broker()
        self.outbox.start()
        for hook in self._on_start:
            await hook(self)
        self._started = True
        self._broker_external = broker_running
        self.log.info("service_started", schema=self.schema, event_loop=_loop_name())

    async def _attach_broker(self) -> None:
        """Connect, declare the topology and start consuming — from scratch again after a
        broker error on the way: RabbitMQ 3.10 may close a channel with INTERNAL_ERROR while a
        quorum queue elects its first leader (several services starting together), and a broker
        still coming up refuses connections for a moment. Gives up after
        ``ATTACH_ATTEMPTS`` (about 15 s), so a wrong URL still fails the start."""
        delay = 0.5
        for attempt in range(1, ATTACH_ATTEMPTS + 1):
            try:
                await self.broker.connect()
                await declare_topology(self.broker)
                await self.broker.start()
                return
            except Exception as exc:
                if attempt == ATTACH_ATTEMPTS:
                    raise
                self.log.warning("broker_attach_retried", attempt=attempt, error=repr(exc)[:300])
                with contextlib.suppress(Exception):
                    await self.broker.stop()  # channel, connection and subscribers: anew
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        """Graceful: stop consuming, let in-flight handlers finish, flush the outbox."""
        if not self._started:
            return
        self._started = False
        for hook in reversed(self._on_stop):
            with contextlib.suppress(Exception):
                await hook(self)
        if not self._broker_external:
            await self.broker.stop()
        await self.outbox.stop()
        await self.engine.dispose()
        self.log.info("service_stopped")

    async def ready(self) -> bool:
        """Broker connection alive and the database answering."""
        try:
            if not await self.broker.ping(timeout=2):
                return False
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    # -- test clock -------------------------------------------------------------------------

    def _subscribe_clock(self) -> RabbitSubscriber:
        """Every process hears every ClockSet (its own exclusive queue on platform.events)."""
        queue = RabbitQueue(
            f"{self.name}.ClockSet.{uuid.uuid4().hex[:12]}",
            queue_type=QueueType.CLASSIC,
            durable=False,
            exclusive=True,
            auto_delete=True,
            routing_key=ClockSet.message_type(),
        )

        subscriber = self.broker.subscriber(
            queue, topic_exchange(ClockSet.exchange_name()), title="clock"
        )

        @subscriber
        async def on_clock_set(event: ClockSet) -> None:
            self.clock.set(event.now)
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        f'INSERT INTO "{self.schema}".clock_setting (id, now, set_at) '
                        "VALUES (true, :now, now()) ON CONFLICT (id) DO UPDATE "
                        "SET now = excluded.now, set_at = excluded.set_at"
                    ),
                    {"now": event.now},
                )

        return subscriber

    async def _restore_clock(self) -> None:
        """After a restart the test clock goes on from where it was set, plus elapsed time."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(f'SELECT now + (now() - set_at) AS now FROM "{self.schema}".clock_setting')
                )
            ).first()
        if row is not None:
            self.clock.set(row.now)

    # -- process entry point ---------------------------------------------------------------

    def run(self) -> None:
        """``main`` of a service process: start, serve until SIGTERM/SIGINT, stop gracefully."""
        run_together([self])


def run_together(services: Sequence[Service]) -> None:
    """``main`` of a process that hosts ``services`` (one, or several side by side).

    Each keeps everything of its own (broker connection, queues, pool, schema, outbox); only
    the process and its event loop are shared, which on a small machine saves the context
    switches and wake-ups of one process per service (bench/RESULTS.md).
    """
    tune_allocator()
    configure_logging("+".join(s.name for s in services), services[0].settings.log_level)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve_until_signalled(services))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (every Linux and macOS install: a dependency), else
    asyncio's own loop. A service process is message and socket bound: in interleaved runs of
    ``bench/orders.py`` uvloop took about a tenth off the services' CPU per order and gave
    about 7% more orders per second (bench/RESULTS.md, session 11)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, PyPy
        return None
    return uvloop.new_event_loop


def _loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


async def serve_until_signalled(services: Sequence[Service]) -> None:
    """Start ``services`` in order, serve until SIGTERM/SIGINT, stop them in reverse order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[Service] = []
    try:
        for service in services:
            # the tasks a service starts (its consumers, its relay) copy this context: their
            # log lines name their own service, not the process's
            structlog.contextvars.bind_contextvars(service=service.name)
            await service.start()
            started.append(service)
        await stop.wait()
    finally:
        for service in reversed(started):
            await service.stop()
