"""Read-only queries to the other services over RabbitMQ direct reply-to."""

from __future__ import annotations

from typing import TypeVar

from esd_contracts.envelope import Query
from esd_platform.messaging import topic_exchange
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

Reply = TypeVar("Reply", bound=BaseModel)


class QueryFailed(Exception):
    """The owner of the data did not answer in time (or answered nonsense)."""


class QueryClient:
    """Send a :class:`Query` and parse the answer into its reply model."""

    def __init__(self, broker: RabbitBroker, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def ask(self, query: Query, reply: type[Reply]) -> Reply:
        try:
            answer = await self._broker.request(
                query.model_dump_json().encode(),
                exchange=topic_exchange(query.exchange_name()),
                routing_key=query.message_type(),
                timeout=self._timeout,
                content_type="application/json",
                **query.envelope(),
            )
            return reply.model_validate_json(answer.body)
        except Exception as exc:
            raise QueryFailed(f"{query.message_type()} unanswered: {type(exc).__name__}") from exc
