"""RabbitMQ the safe way: quorum queues with a delivery limit and a dead-letter queue each,
persistent mandatory publishes with confirms, a bounded prefetch, and a delayed requeue on error.

FastStream's defaults lose messages (see shared/design/PITFALLS.md); everything here exists to
avoid one of those traps, and :func:`make_broker` is the only place a broker is built.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from esd_contracts.envelope import Message, Query
from esd_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    QUERY_TTL_MS,
    ROUTES,
    Route,
    exchanges,
    query_queue,
    route,
)
from faststream import AckPolicy, BaseMiddleware
from faststream.message import StreamMessage
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
    RabbitResponse,
    RabbitRouter,
)
from pydantic import BaseModel

from esd_platform.logging import get_logger
from esd_platform.settings import PlatformSettings

log = get_logger("esd.messaging")

MAX_RETRY_DELAY = 5.0
RECONNECT_INTERVAL = 1.0
"""Seconds between attempts to reach a broker that went away (aio-pika's default is 5: a
service, and the gateway's queries, stayed cut off for up to 5 s after the broker was back)."""


def topic_exchange(name: str) -> RabbitExchange:
    return RabbitExchange(name, type=ExchangeType.TOPIC, durable=True)


def route_queue(r: Route) -> RabbitQueue:
    """The durable quorum queue of a route, dead-lettering into ``<queue>.dlq`` after the limit."""
    return RabbitQueue(
        r.queue,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=r.routing_key,
        arguments={
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": r.queue,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def query_queue_of(query: type[Query]) -> RabbitQueue:
    """Queries are answered at once or not at all: a short TTL, no dead letters."""
    name = query_queue(query)
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=query.message_type(),
        arguments={"x-message-ttl": QUERY_TTL_MS},
    )


def consumes(router: RabbitRouter, service: str, message: type[Message]) -> Callable[[Any], Any]:
    """Decorator: ``service`` handles ``message`` from its registered route."""
    r = route(service, message)
    return router.subscriber(
        route_queue(r),
        topic_exchange(r.exchange),
        title=r.queue,
        description=message.__doc__,
        # explicit: faststream 0.7.8 does not pass the broker's ack_policy down to subscribers,
        # whose own default rejects at the first error (straight to the DLQ, no retry)
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )


def answers(router: RabbitRouter, query: type[Query]) -> Callable[[Any], Any]:
    """Decorator: the handler's return value (a pydantic model) is the reply to ``query``.

    Replies go to RabbitMQ's direct reply-to without ``mandatory``: RabbitMQ 3.10 answers a
    mandatory publish there with ``basic.return`` even when it delivered it, which would make a
    delivered reply look failed and replay the query. A query whose handler fails is rejected,
    not requeued: it is read-only and its caller has stopped waiting.
    """
    subscriber = router.subscriber(
        query_queue_of(query),
        topic_exchange(query.exchange_name()),
        title=query_queue(query),
        description=query.__doc__,
        ack_policy=AckPolicy.REJECT_ON_ERROR,
    )

    def decorate(handler: Callable[..., Awaitable[BaseModel]]) -> Any:
        @functools.wraps(handler)
        async def reply(*args: Any, **kwargs: Any) -> RabbitResponse:
            answer = await handler(*args, **kwargs)
            return RabbitResponse(
                answer.model_dump_json().encode(),
                mandatory=False,
                content_type="application/json",
            )

        reply.__signature__ = inspect.signature(handler).replace(  # type: ignore[attr-defined]
            return_annotation=RabbitResponse
        )
        return subscriber(reply)

    return decorate


class CorrelationMiddleware(BaseMiddleware):
    """Binds the message's correlation id to every log line written while handling it; on error
    waits a growing delay (by the quorum queue's ``x-delivery-count``) before the nack requeues,
    so a failing dependency is retried with backoff rather than in a hot loop."""

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        structlog.contextvars.bind_contextvars(
            correlation_id=msg.correlation_id, message_id=msg.message_id
        )
        try:
            return await call_next(msg)
        except asyncio.CancelledError:
            raise
        except Exception:
            deliveries = int((msg.headers or {}).get("x-delivery-count", 0) or 0)
            delay = min(0.1 * 2**deliveries, MAX_RETRY_DELAY)
            log.exception("handler_failed", deliveries=deliveries + 1, retry_in=delay)
            await asyncio.sleep(delay)
            raise
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id", "message_id")


def make_broker(settings: PlatformSettings, service: str) -> RabbitBroker:
    """The service's broker: confirms, returns raise, bounded prefetch, nack-requeue on error."""
    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(
            prefetch_count=settings.prefetch,
            publisher_confirms=True,
            on_return_raises=True,
        ),
        graceful_timeout=settings.graceful_timeout,
        reconnect_interval=RECONNECT_INTERVAL,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=[CorrelationMiddleware],
        app_id=f"esd-{service}",
        logger=logging.getLogger(f"esd.{service}.broker"),
        log_level=logging.DEBUG,
        description=f"esd {service} service",
    )


async def declare_topology(broker: RabbitBroker) -> None:
    """Declare every exchange, queue, binding and dead-letter queue of esd (idempotent)."""
    dead_letter = await broker.declare_exchange(topic_exchange(DEAD_LETTER_EXCHANGE))
    declared: dict[str, Any] = {}
    for name in exchanges():
        declared[name] = await broker.declare_exchange(topic_exchange(name))
    for r in ROUTES:
        queue = await broker.declare_queue(route_queue(r))
        await queue.bind(declared[r.exchange], routing_key=r.routing_key)
        dlq = await broker.declare_queue(
            RabbitQueue(r.dead_letter_queue, queue_type=QueueType.QUORUM, durable=True)
        )
        await dlq.bind(dead_letter, routing_key=r.queue)
