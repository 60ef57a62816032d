"""A running billing service on an isolated database and vhost, and a harness that drives it as
the orders service, the gateway and the credit service do."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
from billing.adapters.edo import StubOperator
from billing.bootstrap import build_service
from billing.settings import BillingSettings
from esd_contracts.billing.commands import RecordShipment
from esd_contracts.billing.queries import Documents, GetDocuments
from esd_contracts.credit.events import CreditTermsSet
from esd_contracts.envelope import Message
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings
from esd_platform.testing import ask, isolated_settings, publish, wait_for
from sqlalchemy import text


class Harness:
    """Publishes contract messages, records ShipmentRecorded replies, asks GetDocuments."""

    def __init__(self, settings: PlatformSettings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self.recorded: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.finance: list[tuple[str, str, dict[str, Any]]] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def listen(self) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url)
        channel = await self._connection.channel()
        # credit's queue of them (credit captures on them): no credit service runs here
        queue = await channel.declare_queue("credit.ShipmentRecorded", passive=True)
        await queue.consume(self._record, no_ack=True)
        # A private copy of the finance feed: the durable finance.* queues stay for the ledger.
        exchange = await channel.get_exchange("finance.events")
        copy = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await copy.bind(exchange, routing_key="finance.#")
        await copy.consume(self._record_finance, no_ack=True)

    async def _record_finance(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = (message.type or "").split(".")[1]
        self.finance.append((kind, str(message.message_id), json.loads(message.body)))

    def finance_of(self, kind: str, **match: Any) -> list[tuple[str, dict[str, Any]]]:
        """(message_id, body) of the finance events of ``kind`` whose body has ``match``."""
        return [
            (message_id, body)
            for k, message_id, body in self.finance
            if k == kind and all(body.get(key) == value for key, value in match.items())
        ]

    async def finance_events(
        self, kind: str, count: int = 1, **match: Any
    ) -> list[tuple[str, dict[str, Any]]]:
        async def arrived() -> bool:
            return len(self.finance_of(kind, **match)) >= count

        await wait_for(arrived, what=f"{count} {kind} {match}")
        return self.finance_of(kind, **match)

    async def request(self, query: Message, answer: type[Any]) -> Any:
        return await ask(self.service.broker, query, answer)

    async def _record(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = json.loads(message.body)
        self.recorded[uuid.UUID(body["order_id"])].append(body)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, message: Message) -> None:
        await publish(self.service.broker, message)

    async def replies(self, order_id: uuid.UUID, count: int = 1) -> list[dict[str, Any]]:
        async def arrived() -> bool:
            return len(self.recorded[order_id]) >= count

        await wait_for(arrived, what=f"{count} ShipmentRecorded for {order_id}")
        return self.recorded[order_id]

    async def ship(self, cmd: RecordShipment) -> dict[str, Any]:
        await self.publish(cmd)
        return (await self.replies(cmd.order_id))[0]

    async def documents(self, partner_id: uuid.UUID, **kw: Any) -> Documents:
        query = GetDocuments(
            correlation_id=partner_id, occurred_at=datetime.now(UTC), partner_id=partner_id, **kw
        )
        return await ask(self.service.broker, query, Documents)

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.service.engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())

    async def register(
        self, partner_id: uuid.UUID, term_days: int = 15, at: datetime | None = None, **kw: Any
    ) -> PartnerRegistered:
        event = PartnerRegistered(
            correlation_id=partner_id,
            occurred_at=at or datetime(2026, 1, 1, tzinfo=UTC),
            partner_id=partner_id,
            reseller_id=kw.pop("reseller_id", "R-000001"),
            company_name=kw.pop("company_name", "ООО «Ромашка»"),
            inn=kw.pop("inn", "7707083893"),
            kpp=kw.pop("kpp", "773601001"),
            credit_limit=Decimal("50000.00"),
            term_days=term_days,
        )
        await self.publish(event)
        await wait_for(
            lambda: self._has(
                "SELECT 1 FROM credit_terms WHERE source_message_id = :id", id=event.message_id
            ),
            what="partner registered",
        )
        return event

    async def set_terms(self, partner_id: uuid.UUID, term_days: int, at: datetime) -> None:
        event = CreditTermsSet(
            correlation_id=partner_id,
            occurred_at=at,
            partner_id=partner_id,
            limit=Decimal("50000.00"),
            term_days=term_days,
        )
        await self.publish(event)
        await wait_for(
            lambda: self._has(
                "SELECT 1 FROM credit_terms WHERE source_message_id = :id", id=event.message_id
            ),
            what="terms set",
        )

    async def _has(self, statement: str, **params: Any) -> bool:
        return bool(await self.sql(statement, **params))


def shipment(
    partner_id: uuid.UUID,
    shipped_at: datetime,
    *,
    amount: str = "1500.00",
    quantity: int = 1,
    vat_rate: str = "exempt",
    vat_amount: str = "0.00",
    order_id: uuid.UUID | None = None,
    sku: str = "KL1939RDAFS",
    name: str = "Kaspersky Standard, 1 устройство, 1 год",
) -> RecordShipment:
    oid = order_id or uuid.uuid4()
    unit = (Decimal(amount) / quantity).quantize(Decimal("0.01"))
    return RecordShipment(
        correlation_id=oid,
        occurred_at=shipped_at,
        order_id=oid,
        partner_id=partner_id,
        sku=sku,
        name=name,
        quantity=quantity,
        unit_price=unit,
        amount=Decimal(amount),
        vat_rate=vat_rate,
        vat_amount=Decimal(vat_amount),
        shipped_at=shipped_at,
    )


def iso(d: date) -> str:
    return d.isoformat()


@pytest.fixture(scope="session")
async def harness() -> AsyncIterator[Harness]:
    async with isolated_settings() as settings:
        # the clockwork is driven by the tests (close_days, send_closed) rather than by time:
        # these tests ship into past days that a running clockwork would close under them
        service = build_service(
            settings, BillingSettings(background=False), edo_operator=StubOperator()
        )
        await service.start()
        h = Harness(settings, service)
        await h.listen()
        try:
            yield h
        finally:
            await h.close()
            await service.stop()
