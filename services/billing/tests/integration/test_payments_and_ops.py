"""Credit's PaymentAllocated on billing's documents (paid_amount, status, redelivery) and the
ops side of billing: EDO status, resend, replay of one document's finance events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from billing.adapters.edo import StubOperator
from billing.domain.documents import MOSCOW
from billing.service_layer import closing, edo
from billing.service_layer.issuer import Issuer
from billing.settings import BillingSettings
from esd_contracts.billing.commands import (
    DocumentResent,
    FinanceEventsReplayed,
    ReplayFinanceEvents,
    ResendDocument,
)
from esd_contracts.billing.finance import line_added_id
from esd_contracts.billing.queries import EdoStatus, GetEdoStatus
from esd_contracts.credit.events import PaymentAllocated
from esd_platform.testing import wait_for

from .conftest import Harness, shipment

pytestmark = pytest.mark.integration

ISSUER = Issuer.from_settings(BillingSettings())


def moscow(y: int, m: int, d: int, hh: int = 12) -> datetime:
    return datetime(y, m, d, hh, tzinfo=MOSCOW)


def allocation(
    partner: uuid.UUID, number: str, amount: str, payment: uuid.UUID | None = None
) -> PaymentAllocated:
    return PaymentAllocated(
        correlation_id=partner,
        occurred_at=datetime.now(UTC),
        payment_id=payment or uuid.uuid4(),
        partner_id=partner,
        document_number=number,
        amount=Decimal(amount),
        payment_date=date(2026, 9, 10),
    )


async def paid(harness: Harness, message_id: uuid.UUID) -> None:
    async def recorded() -> bool:
        rows = await harness.sql(
            "SELECT 1 FROM payment_allocations WHERE message_id = :id", id=message_id
        )
        return bool(rows)

    await wait_for(recorded, what=f"allocation {message_id} recorded")


class TestPaymentAllocated:
    async def test_partial_then_full_payment_moves_paid_amount_and_status(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=10)
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 1), amount="1000.00"))
        number = reply["document_number"]
        # the billing clock: past the due date (2026-09-11) the unpaid document is overdue
        harness.service.clock.set(moscow(2026, 9, 12))
        try:
            [document] = (await harness.documents(partner, number=number)).documents
            assert (document.paid_amount, document.status) == (Decimal("0.00"), "overdue")

            first = allocation(partner, number, "400.00")
            await harness.publish(first)
            await paid(harness, first.message_id)
            [document] = (await harness.documents(partner, number=number)).documents
            assert (document.paid_amount, document.status) == (Decimal("400.00"), "overdue")

            rest = allocation(partner, number, "600.00")
            await harness.publish(rest)
            await paid(harness, rest.message_id)
            [document] = (await harness.documents(partner, number=number)).documents
            assert (document.paid_amount, document.status) == (Decimal("1000.00"), "paid")
        finally:
            harness.service.clock.set(datetime.now(UTC))

    async def test_open_until_due_date_then_overdue_by_the_billing_clock(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=5)
        reply = await harness.ship(shipment(partner, moscow(2026, 10, 1), amount="300.00"))
        number = reply["document_number"]
        try:
            harness.service.clock.set(moscow(2026, 10, 6, 23))  # the due date itself: still open
            [document] = (await harness.documents(partner, number=number)).documents
            assert document.due_date == date(2026, 10, 6)
            assert document.status == "open"
            harness.service.clock.set(moscow(2026, 10, 7, 0))  # the day after: overdue
            [document] = (await harness.documents(partner, number=number)).documents
            assert document.status == "overdue"
        finally:
            harness.service.clock.set(datetime.now(UTC))

    async def test_redelivered_allocation_counts_once(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 2), amount="500.00"))
        number = reply["document_number"]
        event = allocation(partner, number, "200.00")
        for _ in range(3):  # the same message (same id) three times
            await harness.publish(event)
        await paid(harness, event.message_id)
        # a later message proves the three were all processed before it is read
        marker = allocation(partner, number, "0.01")
        await harness.publish(marker)
        await paid(harness, marker.message_id)
        [document] = (await harness.documents(partner, number=number)).documents
        assert document.paid_amount == Decimal("200.01")
        assert document.status != "paid"
        rows = await harness.sql(
            "SELECT count(*) AS n FROM payment_allocations WHERE document_number = :n", n=number
        )
        assert rows[0].n == 2

    async def test_allocation_on_another_partners_document_changes_nothing(
        self, harness: Harness
    ) -> None:
        owner, stranger = uuid.uuid4(), uuid.uuid4()
        await harness.register(owner)
        reply = await harness.ship(shipment(owner, moscow(2026, 9, 3), amount="700.00"))
        number = reply["document_number"]
        event = allocation(stranger, number, "700.00")
        await harness.publish(event)
        await paid(harness, event.message_id)
        [document] = (await harness.documents(owner, number=number)).documents
        assert (document.paid_amount, document.status) != (Decimal("700.00"), "paid")
        assert document.paid_amount == Decimal("0.00")
        [row] = await harness.sql(
            "SELECT applied FROM payment_allocations WHERE message_id = :id", id=event.message_id
        )
        assert row.applied is False

    async def test_payment_on_a_closed_document_is_recorded(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 4), amount="250.00"))
        number = reply["document_number"]
        await closing.close_days(harness.service.uow, date(2026, 9, 5))
        event = allocation(partner, number, "250.00")
        await harness.publish(event)
        await paid(harness, event.message_id)
        [document] = (await harness.documents(partner, number=number)).documents
        assert document.closed
        assert (document.paid_amount, document.status) == (Decimal("250.00"), "paid")


class TestEdoOps:
    async def test_status_listing_and_resend(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        reply = await harness.ship(shipment(partner, moscow(2026, 9, 20), amount="100.00"))
        number = reply["document_number"]
        open_one = await harness.ship(shipment(partner, moscow(2030, 1, 1), amount="1.00"))

        def status_query(**kw: object) -> GetEdoStatus:
            return GetEdoStatus(correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), **kw)

        refused = await harness.request(
            ResendDocument(
                correlation_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                number=open_one["document_number"],
            ),
            DocumentResent,
        )
        assert (refused.found, refused.queued, refused.reason) == (
            True,
            False,
            "document_not_closed",
        )

        await closing.close_days(harness.service.uow, date(2026, 9, 21))
        unsent = await harness.request(
            status_query(edo_status="unsent", partner_id=partner), EdoStatus
        )
        assert [d.number for d in unsent.documents] == [number]

        operator = StubOperator()
        await edo.send_closed(harness.service.uow, ISSUER, operator)
        await edo.track_sent(harness.service.uow, operator)
        answer = await harness.request(status_query(number=number), EdoStatus)
        [state] = answer.documents
        assert (state.closed, state.edo_status) == (True, "delivered")
        assert state.edo_file
        assert state.edo_file.endswith(".xml")

        resent = await harness.request(
            ResendDocument(
                correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), number=number
            ),
            DocumentResent,
        )
        assert (resent.found, resent.queued, resent.previous_status) == (True, True, "delivered")
        [state] = (await harness.request(status_query(number=number), EdoStatus)).documents
        assert state.edo_status is None
        operator.files.pop(state.edo_file or "", None)
        await edo.send_closed(harness.service.uow, ISSUER, operator)
        assert state.edo_file in operator.files  # the same file went out again
        [state] = (await harness.request(status_query(number=number), EdoStatus)).documents
        assert state.edo_status == "sent"

        missing = await harness.request(
            ResendDocument(
                correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), number="ESD-1999-000001"
            ),
            DocumentResent,
        )
        assert not missing.found


class TestReplayOneDocument:
    async def test_replay_by_number_re_emits_only_that_documents_events(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner)
        day = moscow(2026, 9, 25)
        first = shipment(partner, day, amount="10.00")
        await harness.ship(first)
        other_partner = uuid.uuid4()
        await harness.register(other_partner)
        other = shipment(other_partner, day, amount="20.00")
        await harness.ship(other)
        number = (await harness.documents(partner)).documents[0].number
        await harness.finance_events("DocumentLineAdded", order_id=str(first.order_id))
        answer = await harness.request(
            ReplayFinanceEvents(
                correlation_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                date_from=day.date() - timedelta(days=1),
                date_to=day.date(),
                number=number,
            ),
            FinanceEventsReplayed,
        )
        assert (answer.lines, answer.closed) == (1, 0)
        copies = await harness.finance_events(
            "DocumentLineAdded", count=2, order_id=str(first.order_id)
        )
        assert {message_id for message_id, _ in copies} == {str(line_added_id(first.order_id))}
        assert len(harness.finance_of("DocumentLineAdded", order_id=str(other.order_id))) == 1
