"""The month-end charge over the real broker and database, billing and credit running: events
in, the test clock past the month's end, the scheduler run twice (at once, then again) → one
line, one SubscriptionCharged, one debt entry; redeliveries, a run that dies mid-way, a late
change for a charged month and the replay double nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
from billing.adapters import subscriptions as subscription_rows
from billing.bootstrap import build_service as build_billing
from billing.domain.documents import MOSCOW
from billing.service_layer import subscriptions
from billing.settings import BillingSettings
from credit.bootstrap import build_service as build_credit
from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents
from esd_contracts.billing.finance import subscription_charge_id, subscription_charged_id
from esd_contracts.credit.commands import ChargeSubscription
from esd_contracts.envelope import Message
from esd_contracts.partners.events import PartnerRegistered
from esd_contracts.platform.events import ClockSet
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_platform.service import Service
from esd_platform.testing import ask, isolated_settings, publish, wait_for
from sqlalchemy import text

pytestmark = pytest.mark.integration

JAN = date(2027, 1, 1)
FEB = date(2027, 2, 1)


class Platform:
    def __init__(self, billing: Service, credit: Service) -> None:
        self.billing = billing
        self.credit = credit
        self.finance: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(self, message: Message) -> None:
        await publish(self.billing.broker, message)

    async def sql(self, service: Service, statement: str, **params: Any) -> list[Any]:
        async with service.engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())

    async def receive(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = (message.type or "..").split(".")[1]
        self.finance.append((kind, str(message.message_id), json.loads(message.body)))

    def of(self, kind: str, subscription: uuid.UUID) -> list[str]:
        return [
            mid
            for k, mid, body in self.finance
            if k == kind and body.get("subscription_id") == str(subscription)
        ]

    async def set_clock(self, now: datetime) -> None:
        await self.publish(ClockSet(correlation_id=uuid.uuid4(), occurred_at=now, now=now))

        async def moved() -> bool:
            return all(abs((s.clock.now() - now).total_seconds()) < 60 for s in self.services)

        await wait_for(moved, what="clocks moved")

    @property
    def services(self) -> tuple[Service, Service]:
        return self.billing, self.credit

    async def run_month_end(self, batch: int = subscriptions.CHARGE_BATCH) -> int:
        """The clockwork's month step, as a tick computes its cutoff."""
        return await subscriptions.charge_months(
            self.billing.uow, self.billing.clock.today_moscow(), batch
        )


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with isolated_settings() as settings:
        billing = build_billing(settings, BillingSettings(background=False))
        credit = build_credit(settings)
        await billing.start()
        await credit.start()
        p = Platform(billing, credit)
        connection = await aio_pika.connect_robust(settings.amqp_url)
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(await channel.get_exchange("finance.events"), routing_key="finance.#")
        await queue.consume(p.receive, no_ack=True)
        try:
            yield p
        finally:
            await connection.close()
            await credit.stop()
            await billing.stop()


async def partner(p: Platform) -> uuid.UUID:
    partner_id = uuid.uuid4()
    await p.publish(
        PartnerRegistered(
            correlation_id=partner_id,
            occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
            partner_id=partner_id,
            reseller_id="R-000777",
            company_name="ООО «Подписчик»",
            inn=str(uuid.uuid4().int)[:10],
            kpp="773601001",
            credit_limit=Decimal("1000.00"),
            term_days=10,
        )
    )

    async def registered() -> bool:
        q = "SELECT 1 FROM {} WHERE partner_id = :id"
        return bool(
            await p.sql(p.billing, q.format("partners"), id=partner_id)
            and await p.sql(p.credit, q.format("credit_lines"), id=partner_id)
        )

    await wait_for(registered, what="partner registered in billing and credit")
    return partner_id


def change(
    subscription: uuid.UUID,
    partner_id: uuid.UUID,
    sequence: int,
    effective: date,
    seats: int,
    *,
    kind: str = "quantity_changed",
    status: str = "active",
    test: bool = False,
) -> SubscriptionChanged:
    return SubscriptionChanged(
        correlation_id=subscription,
        occurred_at=datetime.now(UTC),
        subscription_id=subscription,
        partner_id=partner_id,
        external_id=f"client-{sequence}",
        sku="MS-365-BUS",
        name="Microsoft 365 Business Standard",
        vendor="Microsoft",
        test=test,
        change=kind,
        status=status,
        quantity=seats,
        seats=seats,
        monthly_price=Decimal("1000.00"),
        vat_rate="exempt",
        effective_date=effective,
        sequence=sequence,
    )


async def projected(p: Platform, subscription: uuid.UUID, count: int) -> None:
    async def arrived() -> bool:
        rows = await p.sql(
            p.billing,
            "SELECT count(*) FROM subscription_changes WHERE subscription_id = :id",
            id=subscription,
        )
        return int(rows[0][0]) >= count

    await wait_for(arrived, what=f"{count} changes of {subscription}")


async def test_month_end_charges_once_as_a_line_an_event_and_debt(platform: Platform) -> None:
    p = platform
    buyer = await partner(p)
    sub, test_sub = uuid.uuid4(), uuid.uuid4()
    created = change(sub, buyer, 1, date(2027, 1, 15), 3, kind="created")
    increased = change(sub, buyer, 2, date(2027, 1, 31), 5)  # a change on the last day
    for message in (increased, created, increased):  # out of order, and one redelivered
        await p.publish(message)
    await p.publish(change(test_sub, buyer, 1, date(2027, 1, 2), 9, kind="created", test=True))
    await projected(p, sub, 2)
    await projected(p, test_sub, 1)

    # the last day is not over: nothing is due
    await p.set_clock(datetime(2027, 1, 31, 23, 0, tzinfo=MOSCOW))
    assert await p.run_month_end() == 0
    # past midnight (and the closing's grace): January is complete; the scheduler twice at once
    await p.set_clock(datetime(2027, 2, 1, 0, 10, tzinfo=MOSCOW))
    runs = await asyncio.gather(p.run_month_end(), p.run_month_end())
    assert sum(runs) == 1
    assert await p.run_month_end() == 0  # and once more

    charge_id = subscription_charge_id(sub, JAN)
    # 16 days × 3 seats + 1 day × 5 = 53 seat-days; 1000 × 53 / 31 = 1709.677… → 1709.68
    [line] = await p.sql(
        p.billing,
        "SELECT l.amount, l.quantity, d.number, d.date, d.due_date FROM document_lines l "
        "JOIN documents d ON d.id = l.document_id WHERE l.order_id = :id",
        id=charge_id,
    )
    assert (line.amount, line.quantity, line.date) == (Decimal("1709.68"), 1, date(2027, 1, 31))
    charges = await p.sql(
        p.billing, "SELECT subscription_id, amount FROM subscription_charges ORDER BY amount"
    )
    assert [(c.subscription_id, c.amount) for c in charges] == [(sub, Decimal("1709.68"))]

    async def debt_booked() -> bool:
        return bool(
            await p.sql(p.credit, "SELECT 1 FROM ledger WHERE order_id = :id", id=charge_id)
        )

    await wait_for(debt_booked, what="the charge as debt in credit")

    async def charged_event() -> bool:
        return len(p.of("SubscriptionCharged", sub)) >= 1

    await wait_for(charged_event, what="SubscriptionCharged")
    assert p.of("SubscriptionCharged", sub) == [str(subscription_charged_id(sub, JAN))]

    # redelivery of credit's command, and a second command for the same charge: no more debt
    command = ChargeSubscription(
        correlation_id=sub,
        occurred_at=datetime.now(UTC),
        charge_id=charge_id,
        subscription_id=sub,
        partner_id=buyer,
        amount=Decimal("1709.68"),
        document_number=line.number,
        document_date=line.date,
        due_date=line.due_date,
    )
    await p.publish(command)
    await p.publish(command)
    await asyncio.sleep(1.0)
    entries = await p.sql(
        p.credit,
        "SELECT kind, amount, document_number FROM ledger WHERE order_id = :id",
        id=charge_id,
    )
    assert [(e.kind, e.amount, e.document_number) for e in entries] == [
        ("document_debt", Decimal("1709.68"), line.number)
    ]
    [credit_line] = await p.sql(
        p.credit, "SELECT debt, overdraft FROM credit_lines WHERE partner_id = :id", id=buyer
    )
    # the seats were used: the charge is debt even above the 1000.00 limit
    assert (credit_line.debt, credit_line.overdraft) == (Decimal("1709.68"), Decimal("709.68"))
    [document] = await p.sql(
        p.credit, "SELECT amount FROM documents WHERE number = :n", n=line.number
    )
    assert document.amount == Decimal("1709.68")

    # a late change for the charged month: kept and flagged, January's charge stands
    late = change(sub, buyer, 3, date(2027, 1, 20), 0, kind="suspended", status="suspended")
    await p.publish(late)
    await projected(p, sub, 3)
    [flag] = await p.sql(
        p.billing,
        "SELECT after_charge FROM subscription_changes WHERE message_id = :id",
        id=late.message_id,
    )
    assert flag.after_charge is True
    assert await p.run_month_end() == 0
    assert len(p.of("SubscriptionCharged", sub)) == 1

    # the replay sends the same SubscriptionCharged again, with the same id
    answer = await ask(
        p.billing.broker,
        ReplayFinanceEvents(
            correlation_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            date_from=date(2027, 1, 31),
            date_to=date(2027, 1, 31),
            partner_id=buyer,
        ),
        FinanceEventsReplayed,
    )
    assert answer.charges == 1

    async def replayed() -> bool:
        return len(p.of("SubscriptionCharged", sub)) == 2

    await wait_for(replayed, what="the replayed SubscriptionCharged")
    assert set(p.of("SubscriptionCharged", sub)) == {str(subscription_charged_id(sub, JAN))}


async def test_a_run_dying_mid_way_leaves_nothing_and_the_next_charges_once(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = platform
    buyer = await partner(p)
    sub, second = uuid.uuid4(), uuid.uuid4()
    await p.publish(change(sub, buyer, 1, date(2027, 2, 1), 2, kind="created"))
    await p.publish(change(second, buyer, 1, date(2027, 2, 15), 1, kind="created"))
    await projected(p, sub, 1)
    await projected(p, second, 1)
    await p.set_clock(datetime(2027, 3, 1, 0, 10, tzinfo=MOSCOW))

    real = subscription_rows.set_charged_through

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed mid-run")

    # the line and the charge are written, then the process "dies" before the commit
    monkeypatch.setattr(subscription_rows, "set_charged_through", crash)
    with pytest.raises(RuntimeError):
        await p.run_month_end()
    charge_id = subscription_charge_id(sub, FEB)
    assert not await p.sql(
        p.billing, "SELECT 1 FROM document_lines WHERE order_id = :id", id=charge_id
    )
    monkeypatch.setattr(subscription_rows, "set_charged_through", real)
    # two processes' runs at once, one subscription per batch: they meet at the partner's
    # document (one would deadlock the other on the yearly counter without the run's lock)
    assert sum(await asyncio.gather(p.run_month_end(batch=1), p.run_month_end(batch=1))) == 2
    assert await p.run_month_end() == 0
    lines = await p.sql(
        p.billing,
        "SELECT amount, document_id FROM document_lines WHERE order_id = ANY(:ids) "
        "ORDER BY amount DESC",
        ids=[charge_id, subscription_charge_id(second, FEB)],
    )
    # 2 seats for the whole of February; 1 seat for 14 of its 28 days; one document
    assert [line.amount for line in lines] == [Decimal("2000.00"), Decimal("500.00")]
    assert len({line.document_id for line in lines}) == 1


async def test_a_document_closed_while_the_batch_runs_gets_a_supplement_with_the_charges(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch opens the partner's document, then a day closing closes it before the lines
    go in: the set-based insert leaves that document untouched and the charges go one by one
    onto a supplement of the day, once."""
    p = platform
    buyer = await partner(p)
    sub, second = uuid.uuid4(), uuid.uuid4()
    await p.publish(change(sub, buyer, 1, date(2027, 2, 1), 2, kind="created"))
    await p.publish(change(second, buyer, 1, date(2027, 2, 15), 1, kind="created"))
    await projected(p, sub, 1)
    await projected(p, second, 1)
    await p.set_clock(datetime(2027, 3, 1, 0, 10, tzinfo=MOSCOW))

    real = subscription_rows.add_lines
    closed: list[int] = []

    async def closing_first(conn: Any, lines: Any, now: datetime) -> dict[uuid.UUID, int]:
        if not closed:
            closed.extend({line.document_id for line in lines})
            await conn.execute(
                text("UPDATE documents SET closed_at = :now WHERE id = ANY(:ids)"),
                {"now": now, "ids": closed},
            )
        return await real(conn, lines, now)

    monkeypatch.setattr(subscription_rows, "add_lines", closing_first)
    assert await p.run_month_end() == 2
    assert await p.run_month_end() == 0
    ids = [subscription_charge_id(sub, FEB), subscription_charge_id(second, FEB)]
    lines = await p.sql(
        p.billing,
        "SELECT l.amount, d.number, d.supplement_to, d.id FROM document_lines l "
        "JOIN documents d ON d.id = l.document_id WHERE l.order_id = ANY(:ids) "
        "ORDER BY l.amount DESC",
        ids=ids,
    )
    assert [line.amount for line in lines] == [Decimal("2000.00"), Decimal("500.00")]
    (closed_number,) = [
        r.number
        for r in await p.sql(p.billing, "SELECT number FROM documents WHERE id = :id", id=closed[0])
    ]
    assert {(line.supplement_to, line.id in closed) for line in lines} == {(closed_number, False)}
    charges = await p.sql(
        p.billing,
        "SELECT document_number FROM subscription_charges WHERE charge_id = ANY(:ids)",
        ids=ids,
    )
    assert {c.document_number for c in charges} == {lines[0].number}
