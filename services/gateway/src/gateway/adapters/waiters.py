"""Waking HTTP requests that wait for an order to become final.

One LISTEN connection per process (plain asyncpg, outside the pool) receives the
``gateway_order_final`` notifications that the consumers send in their transaction (so they
arrive only after commit) and sets the per-order asyncio events. A lost connection is
re-established in the background; meanwhile waiters fall back to their timeout and a re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import asyncpg
from esd_platform.logging import get_logger
from esd_platform.settings import PlatformSettings
from sqlalchemy.engine import make_url

CHANNEL = "gateway_order_final"
NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', :order_id)"
"""Run inside a consumer's transaction: PostgreSQL delivers it on commit."""

log = get_logger("esd.gateway.waiters")


class OrderWaiters:
    """``async with waiters.watch(order_id) as event``: set when the order may have changed."""

    def __init__(self, settings: PlatformSettings) -> None:
        self._settings = settings
        self._events: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._channels: dict[str, Callable[[str], None]] = {}
        self._state_listeners: list[Callable[[bool], None]] = []

    def listen(
        self,
        channel: str,
        on_notify: Callable[[str], None],
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        """Also deliver ``channel``'s payloads to ``on_notify`` on this connection (register
        before ``start``); ``on_state(connected)`` hears when it is (re)established or lost,
        so a cache invalidated through it is only trusted while it is up."""
        self._channels[channel] = on_notify
        if on_state is not None:
            self._state_listeners.append(on_state)

    def _state(self, connected: bool) -> None:
        for listener in self._state_listeners:
            listener(connected)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_listening(), name="gateway-order-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    @contextlib.asynccontextmanager
    async def watch(self, order_id: uuid.UUID) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        self._events[order_id].add(event)
        try:
            yield event
        finally:
            watchers = self._events.get(order_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._events[order_id]

    def wake(self, order_id: uuid.UUID) -> None:
        for event in self._events.get(order_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for watchers in self._events.values():
            for event in watchers:
                event.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.wake(uuid.UUID(payload))

    @staticmethod
    def _forward(on_notify: Callable[[str], None]) -> Callable[[object, int, str, str], None]:
        def forward(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            on_notify(payload)

        return forward

    async def _connect(self) -> asyncpg.Connection:
        url = make_url(self._settings.sqlalchemy_url)
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            server_settings={"application_name": "esd-gateway-listener"},
        )

    async def _keep_listening(self) -> None:
        delay = 0.2
        while True:
            try:
                conn = await self._connect()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                for channel, on_notify in self._channels.items():
                    await conn.add_listener(channel, self._forward(on_notify))
                self._conn = conn
                self._connected.set()
                self._state(True)
                delay = 0.2
                # anything that finished while we were away: let its waiters re-read
                self._wake_all()
                await lost.wait()
                log.warning("order_listener_lost")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("order_listener_failed")
            finally:
                self._connected.clear()
                self._state(False)
                await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
