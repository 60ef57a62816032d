"""The envelope every message carries, and the naming rules derived from its class."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

MessageKind = Literal["command", "event", "query"]

Money = Annotated[
    Decimal,
    Field(description="Amount in RUB as a decimal string with two places, e.g. '1500.00'"),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
]
"""Money on the wire: a Decimal, serialised as a two-place string, never a float."""


class Envelope(TypedDict):
    """The AMQP properties that identify a message; typed, so ``**envelope`` checks against
    ``publish()``'s keywords."""

    message_id: str
    correlation_id: str
    message_type: str


class Message(BaseModel):
    """Base of every contract: identity, correlation and time.

    ``message_id`` is the outbox row id of the publisher, so a redelivery carries the same id and
    the consumer's inbox catches it. ``correlation_id`` is the order id for everything that
    belongs to an order (the partner or application id otherwise).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    CONTEXT: ClassVar[str]
    KIND: ClassVar[MessageKind]
    VERSION: ClassVar[int] = 1

    message_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Unique id of this message (the outbox row id)"
    )
    correlation_id: uuid.UUID = Field(
        description="The order id this message belongs to (partner/application id otherwise)"
    )
    occurred_at: AwareDatetime = Field(description="When it happened, by the sender's clock")
    schema_version: int = Field(default=1, description="Version of this message's schema")

    @classmethod
    def message_type(cls) -> str:
        """``credit.CreditReserved.v1``: the AMQP ``type`` property and the routing key."""
        return f"{cls.CONTEXT}.{cls.__name__}.v{cls.VERSION}"

    @classmethod
    def exchange_name(cls) -> str:
        """The topic exchange this message is published to."""
        plural = {"command": "commands", "event": "events", "query": "queries"}[cls.KIND]
        return f"{cls.CONTEXT}.{plural}"

    def envelope(self) -> Envelope:
        """AMQP properties that identify this message (besides persistence):
        ``broker.publish(body, ..., **message.envelope())``."""
        return {
            "message_id": str(self.message_id),
            "correlation_id": str(self.correlation_id),
            "message_type": self.message_type(),
        }


class Command(Message):
    """An instruction to one service, named in the imperative."""

    KIND: ClassVar[MessageKind] = "command"


class Event(Message):
    """A fact that happened, named in the past tense; anyone may subscribe."""

    KIND: ClassVar[MessageKind] = "event"


class Query(Message):
    """A read-only request answered over RabbitMQ direct reply-to; never changes state."""

    KIND: ClassVar[MessageKind] = "query"
