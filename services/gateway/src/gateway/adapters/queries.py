"""Read-only queries to the other services over RabbitMQ direct reply-to.

FastStream's ``broker.request`` serialises all requests of a process behind one lock and
subscribes/unsubscribes the reply consumer per call, so one slow query (a service that is down
waits out its timeout) would hold up every other query. This client keeps one channel with one
permanent consumer on ``amq.rabbitmq.reply-to`` and matches replies to waiting calls by a
correlation id unique to each call, so queries run concurrently and a late reply to a call
that gave up is simply dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Protocol, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)
from aio_pika.exceptions import AMQPError
from esd_contracts.envelope import Query
from esd_platform.logging import get_logger
from esd_platform.messaging import topic_exchange
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

Reply = TypeVar("Reply", bound=BaseModel)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

log = get_logger("esd.gateway.queries")


class QueryFailed(Exception):
    """The owner of the data did not answer in time (or answered nonsense)."""


class Queries(Protocol):
    """What controllers ask the other services through."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ask(
        self, query: Query, reply: type[Reply], *, seconds: float | None = None
    ) -> Reply: ...


class QueryClient:
    """Send a :class:`Query` and parse the answer into its reply model."""

    def __init__(self, amqp_url: str, timeout: float) -> None:
        self._amqp_url = amqp_url
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self._ready()

    async def stop(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection, self._channel = None, None
        self._exchanges.clear()

    async def _ready(self) -> AbstractChannel:
        """The channel with the reply consumer; connection and channel built anew whenever
        either is closed. A plain connection, not aio-pika's robust one: that one came back from
        a broker restart with a channel whose reply consumer answered nothing (or a connection
        that raised 'closed' on the next channel), so every query failed until a restart."""
        if self._open():
            assert self._channel is not None
            return self._channel
        async with self._lock:
            if self._open():
                assert self._channel is not None
                return self._channel
            stale, self._connection, self._channel = self._connection, None, None
            self._exchanges.clear()
            if stale is not None:
                with contextlib.suppress(Exception):
                    await stale.close()
            connection = await aio_pika.connect(
                self._amqp_url,
                timeout=self._timeout,
                client_properties={"connection_name": "esd-gateway-queries"},
            )
            channel = await connection.channel(publisher_confirms=False)
            replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
            await replies.consume(self._on_reply, no_ack=True)
            self._connection, self._channel = connection, channel
            return channel

    async def _send(
        self, channel: AbstractChannel, query: Query, message: aio_pika.Message
    ) -> None:
        exchange = await self._exchange(channel, query.exchange_name())
        await exchange.publish(message, routing_key=query.message_type(), mandatory=False)

    async def _drop(self, dead: AbstractConnection | None) -> None:
        """Forget ``dead`` (closing what is left of it) unless another call already replaced
        it; the next call opens a new one. Calls waiting on its replies time out, as their
        owners would have anyway."""
        async with self._lock:
            if dead is None or dead is not self._connection:
                return
            self._connection, self._channel = None, None
            self._exchanges.clear()
        with contextlib.suppress(Exception):
            await dead.close()

    def _open(self) -> bool:
        """The channel and its connection are both up (a channel does not always see its
        connection close under it)."""
        return (
            self._channel is not None
            and not self._channel.is_closed
            and self._connection is not None
            and not self._connection.is_closed
        )

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def _exchange(self, channel: AbstractChannel, name: str) -> AbstractExchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = await channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange

    async def ask(self, query: Query, reply: type[Reply], *, seconds: float | None = None) -> Reply:
        """The answer to ``query``; ``seconds`` overrides the client's timeout for slow work."""
        seconds = seconds or self._timeout
        call_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            async with asyncio.timeout(seconds):
                message = aio_pika.Message(
                    query.model_dump_json().encode(),
                    content_type="application/json",
                    message_id=str(query.message_id),
                    correlation_id=call_id,
                    reply_to=DIRECT_REPLY_TO,
                    type=query.message_type(),
                    headers={"x-correlation-id": str(query.correlation_id)},
                    expiration=seconds,
                )
                channel = await self._ready()
                connection = self._connection
                try:
                    await self._send(channel, query, message)
                except (RuntimeError, ConnectionError, AMQPError):
                    # the connection died under us (a broker restart): once more, on a new one
                    await self._drop(connection)
                    await self._send(await self._ready(), query, message)
                body = await future
            return reply.model_validate_json(body)
        except Exception as exc:
            log.warning(
                "query_failed",
                query=query.message_type(),
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )
            raise QueryFailed(f"{query.message_type()} unanswered: {type(exc).__name__}") from exc
        finally:
            self._pending.pop(call_id, None)


class BrokerQueryClient:
    """Queries through a FastStream broker's ``request``: the embedded run, where every service
    shares one in-memory broker and there is no RabbitMQ to hold a reply-to consumer on."""

    def __init__(self, broker: RabbitBroker, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ask(self, query: Query, reply: type[Reply], *, seconds: float | None = None) -> Reply:
        seconds = seconds or self._timeout
        try:
            async with asyncio.timeout(seconds):
                answer = await self._broker.request(
                    query.model_dump_json().encode(),
                    exchange=topic_exchange(query.exchange_name()),
                    routing_key=query.message_type(),
                    content_type="application/json",
                    message_id=str(query.message_id),
                    correlation_id=str(query.correlation_id),
                    message_type=query.message_type(),
                    timeout=seconds,
                )
            return reply.model_validate_json(answer.body)
        except Exception as exc:
            log.warning(
                "query_failed",
                query=query.message_type(),
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )
            raise QueryFailed(f"{query.message_type()} unanswered: {type(exc).__name__}") from exc
