"""A running credit service on an isolated database and vhost, and a harness that drives it as
the gateway and the orders saga do: it publishes their messages and records credit's replies
from the queues the orders and billing services would consume."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import aio_pika
import pytest
from credit.bootstrap import build_service
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.commands import (
    ReleaseCredit,
    ReserveCredit,
    SetCreditTerms,
)
from esd_contracts.credit.queries import Balance, GetBalance
from esd_contracts.envelope import Message
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import ask, isolated_settings, publish, wait_for
from pydantic import BaseModel
from sqlalchemy import text

R = TypeVar("R", bound=BaseModel)

REPLY_QUEUES = (
    "orders.CreditReserved",
    "orders.CreditRefused",
    "orders.CreditCaptured",
    "orders.CreditReleased",
    "billing.CreditTermsSet",
    "finance.PaymentReceived",
    "finance.PaymentAllocated",
    "finance.PartnerBlocked",
    "finance.PartnerUnblocked",
)


def _key(body: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(body.get("order_id") or body["partner_id"])


class Harness:
    """Publishes contract messages; records every reply by order id (partner id for terms)."""

    def __init__(self, settings: PlatformSettings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self.replies: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def listen(self) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url)
        channel = await self._connection.channel()
        for name in REPLY_QUEUES:
            queue = await channel.declare_queue(name, passive=True)
            await queue.consume(self._record, no_ack=True)

    async def _record(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = json.loads(message.body)
        kind = (message.type or "").split(".")[1]
        self.replies[_key(body)].append((kind, body))

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, message: Message) -> None:
        await publish(self.service.broker, message)

    async def reply(self, key: uuid.UUID, count: int = 1) -> list[tuple[str, dict[str, Any]]]:
        async def arrived() -> bool:
            return len(self.replies[key]) >= count

        await wait_for(arrived, what=f"{count} replies for {key}")
        return self.replies[key]

    async def ask(self, message: Message) -> tuple[str, dict[str, Any]]:
        """Publish a command and wait for its one reply."""
        key = message.order_id  # type: ignore[attr-defined]
        before = len(self.replies[key])
        await self.publish(message)
        return (await self.reply(key, before + 1))[before]

    def events(self, kind: str, key: uuid.UUID) -> list[dict[str, Any]]:
        return [body for k, body in self.replies[key] if k == kind]

    async def wait_event(self, kind: str, key: uuid.UUID, count: int = 1) -> list[dict[str, Any]]:
        async def arrived() -> bool:
            return len(self.events(kind, key)) >= count

        await wait_for(arrived, what=f"{count} {kind} for {key}")
        return self.events(kind, key)

    async def request(self, message: Message, reply: type[R]) -> R:
        return await ask(self.service.broker, message, reply, timeout=30)

    async def balance(self, partner_id: uuid.UUID, at: datetime | None = None) -> Balance:
        query = GetBalance(
            correlation_id=partner_id, occurred_at=now(), partner_id=partner_id, at=at
        )
        return await ask(self.service.broker, query, Balance)

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.service.engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())

    async def register(
        self,
        limit: str = "50000.00",
        term_days: int = 15,
        inn: str | None = None,
        kpp: str | None = "773601001",
    ) -> uuid.UUID:
        partner_id = uuid.uuid4()
        event = PartnerRegistered(
            correlation_id=partner_id,
            occurred_at=now(),
            partner_id=partner_id,
            reseller_id="R-000001",
            company_name="ООО «Ромашка»",
            inn=inn or str(uuid.uuid4().int)[:10],
            kpp=kpp,
            credit_limit=Decimal(limit),
            term_days=term_days,
        )
        await self.publish(event)
        await self.reply(partner_id)
        return partner_id


def now() -> datetime:
    return datetime.now(UTC)


def reserve(partner_id: uuid.UUID, amount: str, order_id: uuid.UUID | None = None) -> ReserveCredit:
    oid = order_id or uuid.uuid4()
    return ReserveCredit(
        correlation_id=oid,
        occurred_at=now(),
        order_id=oid,
        partner_id=partner_id,
        amount=Decimal(amount),
    )


def capture(
    partner_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: str,
    document_number: str = "ESD-2026-000001",
    document_date: date | None = None,
    term_days: int = 15,
) -> ShipmentRecorded:
    day = document_date or date.today()
    return ShipmentRecorded(
        correlation_id=order_id,
        occurred_at=now(),
        order_id=order_id,
        partner_id=partner_id,
        amount=Decimal(amount),
        document_number=document_number,
        document_date=day,
        due_date=day + timedelta(days=term_days),
    )


def release(partner_id: uuid.UUID, order_id: uuid.UUID) -> ReleaseCredit:
    return ReleaseCredit(
        correlation_id=order_id, occurred_at=now(), order_id=order_id, partner_id=partner_id
    )


def set_terms(partner_id: uuid.UUID, limit: str, term_days: int) -> SetCreditTerms:
    return SetCreditTerms(
        correlation_id=partner_id,
        occurred_at=now(),
        partner_id=partner_id,
        limit=Decimal(limit),
        term_days=term_days,
    )


@asynccontextmanager
async def running_harness() -> AsyncIterator[Harness]:
    async with isolated_settings() as settings:
        service = build_service(settings)
        await service.start()
        h = Harness(settings, service)
        await h.listen()
        try:
            yield h
        finally:
            await h.close()
            await service.stop()


@pytest.fixture(scope="module")
async def harness() -> AsyncIterator[Harness]:
    async with running_harness() as h:
        yield h
