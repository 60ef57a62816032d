"""The sample downstream ledger (examples/finance_consumer.py) against the real billing service:
after 1,000 random orders, random payments allocated by credit, duplicates and a replay, its
ledger equals billing's totals and paid amounts."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from billing.domain.documents import MOSCOW
from billing.service_layer import closing
from esd_contracts.billing import finance
from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents
from esd_contracts.credit.events import PaymentAllocated
from esd_platform.testing import wait_for

from examples.finance_consumer import (
    BANK,
    RECEIVABLES,
    REVENUE,
    VAT_ON_REVENUE,
    VAT_PAYABLE,
    Ledger,
    consume,
)

from .conftest import Harness, shipment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS = 1000
FIRST_DAY = date(2026, 11, 2)
DAYS = 4


def finance_copy(event: PaymentAllocated) -> finance.PaymentAllocated:
    """What credit puts on finance.events for its PaymentAllocated (see credit's feed.py)."""
    return finance.PaymentAllocated(
        **event.model_dump(exclude={"message_id", "schema_version"}),
        message_id=finance.finance_copy_id("PaymentAllocated", event.message_id),
        source_message_id=event.message_id,
    )


class TestSampleLedger:
    async def test_ledger_equals_billing_totals_after_many_random_orders_and_payments(
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

        owners = {
            d.number: partner
            for partner in partners
            for d in (await harness.documents(partner)).documents
        }

        # Credit allocates payments to the closed documents: some in full, some in two parts,
        # some partly, some not at all; a few allocation messages are delivered twice.
        payments: list[PaymentAllocated] = []
        for number in sorted(owners):
            [document] = (await harness.documents(owners[number], number=number)).documents
            if rng.random() < 0.3:
                continue
            first = (document.amount * rng.randint(10, 100) / 100).quantize(Decimal("0.01"))
            parts = [first] if rng.random() < 0.5 else [first, document.amount - first]
            payments.extend(
                PaymentAllocated(
                    correlation_id=owners[number],
                    occurred_at=datetime.now(UTC),
                    payment_id=uuid.uuid4(),
                    partner_id=owners[number],
                    document_number=number,
                    amount=part,
                    payment_date=FIRST_DAY + timedelta(days=DAYS + 1),
                )
                for part in parts
                if part > 0
            )
        # credit publishes each allocation twice: its own event (billing consumes it) and the
        # finance copy on finance.events (the ledger's queue), with an id derived from the first
        copies = [finance_copy(p) for p in payments]
        await asyncio.gather(*(harness.publish(p) for p in [*payments, *copies]))
        await asyncio.gather(*(harness.publish(p) for p in [*payments[:30], *copies[:30]]))
        paid: dict[str, Decimal] = {}
        for payment in payments:
            paid[payment.document_number] = (
                paid.get(payment.document_number, Decimal("0.00")) + payment.amount
            )
        ids = [p.message_id for p in payments]

        async def allocations_applied() -> bool:
            rows = await harness.sql(
                "SELECT count(*) AS n FROM payment_allocations WHERE message_id = ANY(:ids)",
                ids=ids,
            )
            return bool(rows[0].n == len(ids))

        await wait_for(allocations_applied, what="billing applied the allocations")

        documents = {
            d.number: d
            for partner in partners
            for d in (await harness.documents(partner)).documents
        }
        assert len(documents) >= len(partners)  # at most one per partner and day here
        assert all(d.closed for d in documents.values())
        for number, document in documents.items():  # each allocation counted once by billing
            assert document.paid_amount == paid.get(number, Decimal("0.00")), number
            assert (document.status == "paid") == (document.paid_amount >= document.amount)
        expected = {n: (d.amount, d.vat_amount, len(d.lines)) for n, d in documents.items()}
        expected_paid = {n: d.paid_amount for n, d in documents.items()}

        # The durable finance queues also hold the events of this session's other tests: the
        # ledger takes them all (and must reconcile them all); these partners are checked exactly.
        ledger = Ledger()
        stop = asyncio.Event()
        consumer = asyncio.create_task(consume(harness.settings.amqp_url, ledger, stop))

        async def caught_up() -> bool:
            posted = ledger.documents()
            lines_in = all(posted.get(n) == totals for n, totals in expected.items())
            in_ledger = ledger.paid()
            paid_in = all(
                in_ledger.get(n, Decimal("0.00")) == amount for n, amount in expected_paid.items()
            )
            return lines_in and paid_in and ledger.closed_count(expected) == len(expected)

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
        total_paid = sum(expected_paid.values(), Decimal("0.00"))
        assert total_paid > 0
        ours = [str(p) for p in partners]
        assert sum((ledger.balance(RECEIVABLES, p) for p in ours), Decimal(0)) == (
            billed - total_paid
        )
        assert sum((ledger.balance(BANK, p) for p in ours), Decimal(0)) == total_paid
        assert sum((ledger.balance(REVENUE, p) for p in ours), Decimal(0)) == -billed
        assert sum((ledger.balance(VAT_ON_REVENUE, p) for p in ours), Decimal(0)) == billed_vat
        assert sum((ledger.balance(VAT_PAYABLE, p) for p in ours), Decimal(0)) == -billed_vat
        for partner in partners:
            own = sum(
                (d.amount - d.paid_amount for d in (await harness.documents(partner)).documents),
                Decimal("0.00"),
            )
            assert ledger.balance(RECEIVABLES, str(partner)) == own
        posted = ledger.documents()
        assert {n: posted[n] for n in expected} == expected
        assert ledger.reconcile() == []  # every closed document of the session adds up
        assert sum(ledger.trial_balance().values(), Decimal(0)) == 0
