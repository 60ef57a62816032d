"""RecordShipment over the real broker and database: the day's document, its number and due
date, Moscow midnight, duplicates, concurrent numbering, ownership of GetDocuments."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from billing.domain.documents import MOSCOW, parse_number

from .conftest import Harness, shipment

pytestmark = pytest.mark.integration


def moscow(y: int, m: int, d: int, hh: int = 12, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=MOSCOW)


class TestRecordShipment:
    async def test_first_line_opens_a_numbered_document_due_after_the_term(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=30)
        reply = await harness.ship(shipment(partner, moscow(2026, 4, 2, 10)))
        assert parse_number(reply["document_number"])[0] == 2026  # type: ignore[index]
        assert reply["document_date"] == "2026-04-02"
        assert reply["due_date"] == "2026-05-02"
        assert reply["amount"] == "1500.00"

    async def test_unknown_terms_default_to_fifteen_days(self, harness: Harness) -> None:
        reply = await harness.ship(shipment(uuid.uuid4(), moscow(2026, 4, 2, 10)))
        assert reply["due_date"] == "2026-04-17"

    async def test_two_lines_the_same_day_share_one_document(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        first = await harness.ship(shipment(partner, moscow(2026, 4, 3, 9), amount="100.10"))
        second = await harness.ship(
            shipment(
                partner,
                moscow(2026, 4, 3, 18),
                amount="610.00",
                vat_rate="22",
                vat_amount="110.00",
                quantity=2,
            )
        )
        assert first["document_number"] == second["document_number"]
        [document] = (await harness.documents(partner)).documents
        assert [line.amount for line in document.lines] == [Decimal("100.10"), Decimal("610.00")]
        assert document.amount == Decimal("710.10")
        assert document.vat_amount == Decimal("110.00")
        assert document.paid_amount == Decimal("0.00")

    async def test_lines_either_side_of_moscow_midnight_make_two_documents(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        before = await harness.ship(shipment(partner, moscow(2026, 4, 4, 23, 59, 59)))
        after = await harness.ship(shipment(partner, moscow(2026, 4, 5, 0, 0, 0)))
        assert before["document_date"] == "2026-04-04"
        assert after["document_date"] == "2026-04-05"
        assert before["document_number"] != after["document_number"]

    async def test_shipment_at_21_utc_is_on_the_next_moscow_day(self, harness: Harness) -> None:
        reply = await harness.ship(shipment(uuid.uuid4(), datetime(2026, 4, 6, 21, 0, tzinfo=UTC)))
        assert reply["document_date"] == "2026-04-07"

    async def test_duplicate_order_adds_no_line_and_answers_the_same_document(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        cmd = shipment(partner, moscow(2026, 4, 8, 12))
        again = cmd.model_copy(update={"message_id": uuid.uuid4()})  # a new command, same order
        first = await harness.ship(cmd)
        await harness.publish(again)
        replies = await harness.replies(cmd.order_id, count=2)
        assert replies[1]["document_number"] == first["document_number"]
        assert replies[1]["due_date"] == first["due_date"]
        [document] = (await harness.documents(partner)).documents
        assert len(document.lines) == 1
        assert document.amount == Decimal("1500.00")

    async def test_redelivered_message_is_handled_once(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        cmd = shipment(partner, moscow(2026, 4, 9, 12))
        await harness.publish(cmd)
        await harness.publish(cmd)  # the same message id, as a relay crash would redeliver
        await harness.replies(cmd.order_id)
        await asyncio.sleep(0.3)
        assert len(harness.recorded[cmd.order_id]) == 1
        [document] = (await harness.documents(partner)).documents
        assert len(document.lines) == 1


class TestTerms:
    async def test_due_date_follows_the_term_in_force_on_the_document_date(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=15, at=moscow(2026, 1, 10))
        await harness.set_terms(partner, 45, at=moscow(2026, 5, 10, 8))
        early = await harness.ship(shipment(partner, moscow(2026, 5, 9, 12)))
        late = await harness.ship(shipment(partner, moscow(2026, 5, 10, 12)))
        assert early["due_date"] == "2026-05-24"
        assert late["due_date"] == "2026-06-24"

    async def test_terms_changed_during_the_day_move_that_days_due_date(
        self, harness: Harness
    ) -> None:
        partner = uuid.uuid4()
        await harness.register(partner, term_days=15, at=moscow(2026, 1, 10))
        reply = await harness.ship(shipment(partner, moscow(2026, 5, 20, 9)))
        assert reply["due_date"] == "2026-06-04"
        await harness.set_terms(partner, 30, at=moscow(2026, 5, 20, 15))
        [document] = (await harness.documents(partner)).documents
        assert document.due_date == date(2026, 6, 19)


class TestNumbering:
    async def test_concurrent_first_lines_of_many_partners_get_gapless_numbers(
        self, harness: Harness
    ) -> None:
        year = 2031  # a year no other test touches
        partners = [uuid.uuid4() for _ in range(40)]
        commands = [
            shipment(p, moscow(year, 1 + i % 3, 1 + i % 5, 10 + k))
            for i, p in enumerate(partners)
            for k in range(3)
        ]
        await asyncio.gather(*(harness.publish(c) for c in commands))
        for c in commands:
            await harness.replies(c.order_id)
        rows = await harness.sql(
            "SELECT number FROM documents WHERE date >= :a AND date < :b",
            a=date(year, 1, 1),
            b=date(year + 1, 1, 1),
        )
        sequences = sorted(parse_number(r.number)[1] for r in rows)  # type: ignore[index]
        assert len(rows) == len({(p, 1 + i % 3, 1 + i % 5) for i, p in enumerate(partners)})
        assert sequences == list(range(1, len(rows) + 1))
        per_doc = await harness.sql(
            "SELECT d.line_count, count(l.*) AS n, d.amount, sum(l.amount) AS s "
            "FROM documents d JOIN document_lines l ON l.document_id = d.id "
            "WHERE d.date >= :a GROUP BY d.id",
            a=date(year, 1, 1),
        )
        assert all(r.line_count == r.n == 3 and r.amount == r.s for r in per_doc)

    async def test_numbering_restarts_each_year(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        reply = await harness.ship(shipment(partner, moscow(2033, 1, 1, 0, 0, 0)))
        assert reply["document_number"] == "ESD-2033-000001"
        previous = await harness.ship(shipment(partner, moscow(2032, 12, 31, 23, 59, 59)))
        assert previous["document_number"] == "ESD-2032-000001"


class TestGetDocuments:
    async def test_partner_sees_only_its_own_documents(self, harness: Harness) -> None:
        owner, stranger = uuid.uuid4(), uuid.uuid4()
        reply = await harness.ship(shipment(owner, moscow(2026, 6, 1)))
        number = reply["document_number"]
        mine = await harness.documents(owner, number=number)
        assert [d.number for d in mine.documents] == [number]
        theirs = await harness.documents(stranger, number=number)
        assert theirs.documents == ()
        assert (await harness.documents(stranger)).documents == ()

    async def test_date_range_is_inclusive(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        for day in (1, 2, 3, 4):
            await harness.ship(shipment(partner, moscow(2026, 7, day)))
        found = await harness.documents(
            partner, date_from=date(2026, 7, 2), date_to=date(2026, 7, 3)
        )
        assert [d.date for d in found.documents] == [date(2026, 7, 2), date(2026, 7, 3)]

    async def test_unpaid_document_past_its_due_date_is_overdue(self, harness: Harness) -> None:
        partner = uuid.uuid4()
        today = harness.service.clock.today_moscow()
        old = datetime(today.year, today.month, today.day, 12, tzinfo=MOSCOW) - timedelta(days=40)
        await harness.ship(shipment(partner, old))
        await harness.ship(shipment(partner, datetime.now(UTC)))
        statuses = [d.status for d in (await harness.documents(partner)).documents]
        assert statuses == ["overdue", "open"]
