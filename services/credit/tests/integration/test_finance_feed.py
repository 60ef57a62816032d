"""Credit's part of the finance feed: each payment, allocation, block and unblock has a copy on
finance.events with a stable id, journalled; the replay sends the same ids and bodies again;
a subscription charge becomes debt once however often it is delivered."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
from esd_contracts.billing.finance import finance_copy_id
from esd_contracts.credit.commands import (
    ChargeSubscription,
    FinanceFeedReplayed,
    PaymentOrder,
    PostPayments,
    ReplayFinanceFeed,
)
from esd_contracts.credit.queries import CreditHistory, GetCreditHistory, PaymentsPosted
from esd_platform.testing import wait_for

from .conftest import Harness, capture, now, reserve, set_terms

pytestmark = pytest.mark.integration


async def test_payments_on_the_finance_exchange_and_their_replay(harness: Harness) -> None:
    feed: list[tuple[str, str, dict[str, Any]]] = []
    connection = await aio_pika.connect_robust(harness.settings.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(await channel.get_exchange("finance.events"), routing_key="finance.#")

        async def receive(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            feed.append((message.type or "", str(message.message_id), json.loads(message.body)))

        await queue.consume(receive, no_ack=True)
        payer = str(uuid.uuid4().int)[:10]
        partner = await harness.register(inn=payer)
        order = reserve(partner, "300.00")
        await harness.ask(order)
        await harness.ask(capture(partner, order.order_id, "300.00", "ESD-2026-700001"))
        # a subscription charge on the same document: debt once, however often delivered
        charge = ChargeSubscription(
            correlation_id=uuid.uuid4(),
            occurred_at=now(),
            charge_id=uuid.uuid4(),
            subscription_id=uuid.uuid4(),
            partner_id=partner,
            amount=Decimal("200.00"),
            document_number="ESD-2026-700001",
            document_date=date.today(),
            due_date=date.today() + timedelta(days=15),
        )
        again = charge.model_copy(update={"message_id": uuid.uuid4()})
        for message in (charge, charge, again):
            await harness.publish(message)

        async def booked() -> bool:
            rows = await harness.sql(
                "SELECT amount FROM documents WHERE partner_id = :p", p=partner
            )
            return bool(rows) and rows[0].amount == Decimal("500.00")

        await wait_for(booked, what="the charge on the document")
        posted = await harness.request(
            PostPayments(
                correlation_id=uuid.uuid4(),
                occurred_at=now(),
                payments=(
                    PaymentOrder(
                        payer_inn=payer,
                        amount=Decimal("500.00"),
                        date=date.today(),
                        number="77",
                        purpose="Оплата по ESD-2026-700001",
                    ),
                ),
            ),
            PaymentsPosted,
        )
        assert posted.payments[0].unallocated == Decimal("0.00")
        await asyncio.sleep(0.5)
        [line] = await harness.sql("SELECT debt FROM credit_lines WHERE partner_id = :p", p=partner)
        assert line.debt == Decimal("0.00")
        entries = await harness.sql(
            "SELECT count(*) FROM ledger WHERE order_id = :c", c=charge.charge_id
        )
        assert entries[0][0] == 1

        def ours() -> list[tuple[str, str, dict[str, Any]]]:
            return [e for e in feed if e[2].get("partner_id") == str(partner)]

        async def arrived() -> bool:
            return {t for t, _, _ in ours()} >= {
                "finance.PaymentReceived.v1",
                "finance.PaymentAllocated.v1",
            }

        await wait_for(arrived, what="the payment's finance copies")
        first = ours()
        for kind, message_id, body in first:
            name = kind.split(".")[1]
            assert message_id == str(finance_copy_id(name, uuid.UUID(body["source_message_id"])))
        [received] = [b for t, _, b in first if t == "finance.PaymentReceived.v1"]
        assert (received["amount"], received["number"]) == ("500.00", "77")

        answer = await harness.request(
            ReplayFinanceFeed(
                correlation_id=uuid.uuid4(),
                occurred_at=now(),
                date_from=harness.service.clock.today_moscow(),
                date_to=harness.service.clock.today_moscow(),
                partner_id=partner,
            ),
            FinanceFeedReplayed,
        )
        assert answer.events == len(first)

        async def replayed() -> bool:
            return len(ours()) == 2 * len(first)

        await wait_for(replayed, what="the replayed copies")
        again_ids = sorted(mid for _, mid, _ in ours()[len(first) :])
        assert again_ids == sorted(mid for _, mid, _ in first)
    finally:
        await connection.close()


async def test_ops_see_a_partners_terms_history_and_payments(harness: Harness) -> None:
    payer = str(uuid.uuid4().int)[:10]
    partner = await harness.register(inn=payer, limit="10000.00", term_days=15)
    await harness.publish(set_terms(partner, "20000.00", 30))

    async def two_terms() -> bool:
        rows = await harness.sql("SELECT 1 FROM terms_history WHERE partner_id = :p", p=partner)
        return len(rows) == 2

    await wait_for(two_terms, what="terms changed")
    order = reserve(partner, "700.00")
    await harness.ask(order)
    await harness.ask(capture(partner, order.order_id, "700.00", "ESD-2026-700100"))
    for number, amount in (("1", "500.00"), ("2", "900.00")):
        await harness.request(
            PostPayments(
                correlation_id=uuid.uuid4(),
                occurred_at=now(),
                payments=(
                    PaymentOrder(
                        payer_inn=payer,
                        amount=Decimal(amount),
                        date=date(2026, 11, int(number)),
                        number=number,
                    ),
                ),
            ),
            PaymentsPosted,
        )
    history = await harness.request(
        GetCreditHistory(correlation_id=uuid.uuid4(), occurred_at=now(), partner_id=partner),
        CreditHistory,
    )
    assert history.found
    assert [(t.limit, t.term_days, t.source) for t in history.terms] == [
        (Decimal("20000.00"), 30, "ops"),
        (Decimal("10000.00"), 15, "registration"),
    ]
    assert [
        (p.number, p.amount, p.unallocated, [(a.document, a.amount) for a in p.allocations])
        for p in history.payments
    ] == [
        ("2", Decimal("900.00"), Decimal("700.00"), [("ESD-2026-700100", Decimal("200.00"))]),
        ("1", Decimal("500.00"), Decimal("0.00"), [("ESD-2026-700100", Decimal("500.00"))]),
    ]
    only_first = await harness.request(
        GetCreditHistory(
            correlation_id=uuid.uuid4(),
            occurred_at=now(),
            partner_id=partner,
            date_to=date(2026, 11, 1),
        ),
        CreditHistory,
    )
    assert [p.number for p in only_first.payments] == ["1"]
    unknown = await harness.request(
        GetCreditHistory(correlation_id=uuid.uuid4(), occurred_at=now(), partner_id=uuid.uuid4()),
        CreditHistory,
    )
    assert unknown == CreditHistory(found=False)
