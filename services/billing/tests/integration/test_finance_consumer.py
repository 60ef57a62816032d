"""The sample downstream ledger (examples/finance_consumer.py) against the real billing service:
after 1,000 random orders, duplicates and a replay, its ledger equals billing's totals."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from billing.domain.documents import MOSCOW
from billing.service_layer import closing
from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents

from examples.finance_consumer import (
    RECEIVABLES,
    REVENUE,
    VAT_ON_REVENUE,
    VAT_PAYABLE,
    Ledger,
    consume,
)

from .conftest import Harness, shipment, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 1000
FIRST_DAY = date(2026, 11, 2)
DAYS = 4


class TestSampleLedger:
    async def test_ledger_equals_billing_totals_after_many_random_orders(
        self, harness: Harness
    ) -> None:
        rng = random.Random(6)
        partners = [uuid.uuid4() for _ in range(25)]
        for partner in partners[:20]:  # some partners' details never arrive: no matter here
            await harness.register(partner)
        commands = []
        for _ in range(ORDERS):
            day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
            moment = datetime(day.year, day.month, day.day, tzinfo=MOSCOW) + timedelta(
                seconds=rng.randrange(86_400)
            )
            quantity = rng.randint(1, 5)
            amount = Decimal(rng.randint(100, 5_000_000)) / 100 * quantity
            taxable = rng.random() < 0.15
            commands.append(
                shipment(
                    rng.choice(partners),
                    moment,
                    amount=f"{amount:.2f}",
                    quantity=quantity,
                    vat_rate="22" if taxable else "exempt",
                    vat_amount="0.00",
                )
            )
        duplicates = [c.model_copy(update={"message_id": uuid.uuid4()}) for c in commands[:50]]
        for start in range(0, len(commands), 100):
            await asyncio.gather(*(harness.publish(c) for c in commands[start : start + 100]))
        await asyncio.gather(*(harness.publish(c) for c in duplicates))
        for cmd in commands:
            await harness.replies(cmd.order_id)
        await closing.close_days(harness.service.uow, FIRST_DAY + timedelta(days=DAYS))
        await harness.request(
            ReplayFinanceEvents(
                correlation_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                date_from=FIRST_DAY,
                date_to=FIRST_DAY + timedelta(days=1),
            ),
            FinanceEventsReplayed,
        )

        documents = {
            d.number: d
            for partner in partners
            for d in (await harness.documents(partner)).documents
        }
        assert len(documents) >= len(partners)  # at most one per partner and day here
        assert all(d.closed for d in documents.values())
        expected = {n: (d.amount, d.vat_amount, len(d.lines)) for n, d in documents.items()}

        # The durable finance queues also hold the events of this session's other tests: the
        # ledger takes them all (and must reconcile them all); these partners are checked exactly.
        ledger = Ledger()
        stop = asyncio.Event()
        consumer = asyncio.create_task(consume(harness.settings.amqp_url, ledger, stop))

        async def caught_up() -> bool:
            posted = ledger.documents()
            lines_in = all(posted.get(n) == totals for n, totals in expected.items())
            return lines_in and ledger.closed_count(expected) == len(expected)

        try:
            await wait_for(caught_up, timeout=60, what="ledger caught up")
            handled = ledger.handled()
            await asyncio.sleep(0.5)  # replayed duplicates still draining must change nothing
            assert ledger.handled() == handled
        finally:
            stop.set()
            await consumer

        billed = sum((d.amount for d in documents.values()), Decimal("0.00"))
        billed_vat = sum((d.vat_amount for d in documents.values()), Decimal("0.00"))
        assert billed == sum((c.amount for c in commands), Decimal("0.00"))
        ours = [str(p) for p in partners]
        assert sum((ledger.balance(RECEIVABLES, p) for p in ours), Decimal(0)) == billed
        assert sum((ledger.balance(REVENUE, p) for p in ours), Decimal(0)) == -billed
        assert sum((ledger.balance(VAT_ON_REVENUE, p) for p in ours), Decimal(0)) == billed_vat
        assert sum((ledger.balance(VAT_PAYABLE, p) for p in ours), Decimal(0)) == -billed_vat
        for partner in partners:
            own = sum(
                (d.amount for d in (await harness.documents(partner)).documents), Decimal("0.00")
            )
            assert ledger.balance(RECEIVABLES, str(partner)) == own
        posted = ledger.documents()
        assert {n: posted[n] for n in expected} == expected
        assert ledger.reconcile() == []  # every closed document of the session adds up
        assert sum(ledger.trial_balance().values(), Decimal(0)) == 0
