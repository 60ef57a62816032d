"""Payments, statements, overdue blocks and the aging report over the real broker and database."""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from credit.service_layer import receivables
from esd_contracts.credit.commands import (
    PaymentOrder,
    PostBankStatement,
    PostPayment,
    PostPayments,
)
from esd_contracts.credit.queries import GetReceivablesAging, PaymentsPosted, ReceivablesAging
from esd_contracts.platform.events import ClockSet
from esd_platform.testing import wait_for

from .conftest import Harness, capture, now, reserve

pytestmark = pytest.mark.integration

D = Decimal
FIXTURE = Path(__file__).parents[1] / "fixtures" / "statement_1_03.txt"


def inn() -> str:
    return str(uuid.uuid4().int)[:10]


async def document(
    harness: Harness, partner: uuid.UUID, number: str, amount: str, day: date, term: int = 15
) -> None:
    """A shipped order on document ``number`` dated ``day``: reserve, then capture."""
    order = reserve(partner, amount)
    kind, _ = await harness.ask(order)
    assert kind == "CreditReserved"
    await harness.ask(
        capture(partner, order.order_id, amount, number, document_date=day, term_days=term)
    )


def payments(*orders: PaymentOrder) -> PostPayments:
    return PostPayments(correlation_id=uuid.uuid4(), occurred_at=now(), payments=orders)


def order(
    payer_inn: str, amount: str, number: str, purpose: str = "", **kw: object
) -> PaymentOrder:
    return PaymentOrder(
        payer_inn=payer_inn,
        amount=D(amount),
        date=kw.pop("date", date(2026, 11, 2)),
        number=number,
        purpose=purpose,
        **kw,
    )


async def set_clock(harness: Harness, moment: datetime) -> None:
    """Move the test clock as the gateway's ops endpoint does: ClockSet on the bus."""
    await harness.publish(ClockSet(correlation_id=uuid.uuid4(), occurred_at=now(), now=moment))

    async def moved() -> bool:
        return abs((harness.service.clock.now() - moment).total_seconds()) < 60

    await wait_for(moved, what="clock moved")


def today(harness: Harness) -> date:
    return harness.service.clock.today_moscow()


class TestPostPayments:
    async def test_named_document_first_then_oldest_then_unallocated(
        self, harness: Harness
    ) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        day = today(harness)
        await document(harness, partner, "ESD-2026-000101", "1000.00", day - timedelta(days=2))
        await document(harness, partner, "ESD-2026-000102", "2000.00", day - timedelta(days=1))
        answer = await harness.request(
            payments(order(payer, "2500.00", "77", "Оплата по УПД №ESD-000102 от 01.11.2026")),
            PaymentsPosted,
        )
        (posted,) = answer.payments
        assert posted.status == "posted"
        assert posted.partner_id == partner
        assert [(a.document, a.amount) for a in posted.allocations] == [
            ("ESD-2026-000102", D("2000.00")),
            ("ESD-2026-000101", D("500.00")),
        ]
        assert posted.unallocated == D("0.00")
        balance = await harness.balance(partner)
        assert balance.debt == D("500.00")
        received = await harness.wait_event("PaymentReceived", partner)
        assert received[0]["amount"] == "2500.00"
        allocated = await harness.wait_event("PaymentAllocated", partner, 2)
        assert [a["document_paid"] for a in allocated] == [True, False]

    async def test_the_same_payment_twice_counts_once(self, harness: Harness) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        await document(harness, partner, "ESD-2026-000201", "800.00", today(harness))
        first = await harness.request(payments(order(payer, "300.00", "5")), PaymentsPosted)
        again = await harness.request(
            payments(order(payer, "300.00", "5"), order(payer, "300.00", "5")), PaymentsPosted
        )
        assert first.payments[0].status == "posted"
        assert [p.status for p in again.payments] == ["duplicate", "duplicate"]
        assert again.payments[0].allocations == first.payments[0].allocations
        assert (await harness.balance(partner)).debt == D("500.00")
        # another date or number is another payment
        other = await harness.request(
            payments(order(payer, "300.00", "5", date=date(2026, 11, 3))), PaymentsPosted
        )
        assert other.payments[0].status == "posted"
        assert (await harness.balance(partner)).debt == D("200.00")

    async def test_unknown_payer_is_reported_and_the_rest_is_booked(self, harness: Harness) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        answer = await harness.request(
            payments(order("7700000000", "100.00", "1"), order(payer, "50.00", "2")),
            PaymentsPosted,
        )
        assert [p.status for p in answer.payments] == ["unknown_payer", "posted"]
        assert answer.payments[0].partner_id is None
        assert [p.code for p in answer.problems] == ["unknown_payer"]
        assert answer.payments[1].unallocated == D("50.00")
        assert (await harness.balance(partner)).debt == D("0.00")

    async def test_overpayment_is_consumed_by_later_documents(self, harness: Harness) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        await document(harness, partner, "ESD-2026-000301", "100.00", today(harness))
        answer = await harness.request(payments(order(payer, "1000.00", "9")), PaymentsPosted)
        assert answer.payments[0].unallocated == D("900.00")
        assert (await harness.balance(partner)).debt == D("0.00")
        await document(harness, partner, "ESD-2026-000302", "250.00", today(harness))
        balance = await harness.balance(partner)
        assert balance.debt == D("0.00")
        assert balance.available == D("50000.00")
        rows = await harness.sql(
            "SELECT unallocated FROM payments WHERE partner_id = :p", p=partner
        )
        assert rows[0].unallocated == D("650.00")
        await harness.wait_event("PaymentAllocated", partner, 2)
        # and the answer to the same payment now shows where all of it went
        again = await harness.request(payments(order(payer, "1000.00", "9")), PaymentsPosted)
        assert [(a.document, a.amount) for a in again.payments[0].allocations] == [
            ("ESD-2026-000301", D("100.00")),
            ("ESD-2026-000302", D("250.00")),
        ]
        assert again.payments[0].unallocated == D("650.00")

    async def test_durable_post_payment_command_books_and_announces(self, harness: Harness) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        await document(harness, partner, "ESD-2026-000401", "400.00", today(harness))
        command = PostPayment(
            correlation_id=uuid.uuid4(),
            occurred_at=now(),
            payer_inn=payer,
            amount=D("400.00"),
            date=date(2026, 11, 5),
            number="31",
            purpose="опл. док. 401",
        )
        await harness.publish(command)
        await harness.publish(command)  # redelivered: counted once
        allocated = await harness.wait_event("PaymentAllocated", partner)
        assert (allocated[0]["document_number"], allocated[0]["amount"]) == (
            "ESD-2026-000401",
            "400.00",
        )
        assert allocated[0]["document_paid"]
        assert (await harness.balance(partner)).debt == D("0.00")

    async def test_ledger_still_equals_the_rows_after_payments(self, harness: Harness) -> None:
        rows = await harness.sql(
            """
            SELECT l.partner_id, l.debt, l.reserved, l.unallocated,
                   COALESCE(sum(CASE e.kind WHEN 'capture' THEN e.amount
                                  WHEN 'document_debt' THEN e.amount
                                  WHEN 'allocation' THEN -e.amount ELSE 0 END), 0) AS e_debt,
                   COALESCE(sum(CASE e.kind WHEN 'payment' THEN e.amount
                                  WHEN 'allocation' THEN -e.amount ELSE 0 END), 0) AS e_unalloc,
                   COALESCE(sum(CASE e.kind WHEN 'reservation' THEN e.amount
                                  WHEN 'release' THEN -e.amount
                                  WHEN 'capture' THEN -e.amount ELSE 0 END), 0) AS e_reserved
            FROM credit_lines l LEFT JOIN ledger e ON e.partner_id = l.partner_id
            GROUP BY l.partner_id
            """
        )
        assert rows
        for r in rows:
            assert (r.debt, r.unallocated, r.reserved) == (r.e_debt, r.e_unalloc, r.e_reserved)
        documents = await harness.sql(
            """
            SELECT d.partner_id, sum(d.amount - d.paid) AS open FROM documents d
            GROUP BY d.partner_id
            """
        )
        debts = {r.partner_id: r.debt for r in rows}
        for d in documents:
            assert debts[d.partner_id] == d.open


class TestBankStatement:
    async def test_statement_in_windows_1251_posts_once(self, harness: Harness) -> None:
        romashka = await harness.register(inn="7707083893")
        ivanov = await harness.register(inn="500100732259", kpp=None)
        day = today(harness)
        await document(harness, romashka, "ESD-2026-000123", "30000.00", day - timedelta(days=3))
        await document(harness, romashka, "ESD-2026-000124", "20000.00", day - timedelta(days=2))
        await document(harness, ivanov, "ESD-2026-000007", "10000.00", day - timedelta(days=5))
        await document(harness, ivanov, "ESD-2026-000008", "5000.00", day - timedelta(days=4))
        content = FIXTURE.read_text("utf-8").replace("\n", "\r\n").encode("cp1251")
        statement = PostBankStatement(
            correlation_id=uuid.uuid4(),
            occurred_at=now(),
            content_base64=base64.b64encode(content).decode(),
            filename="kl_to_1c.txt",
        )
        answer = await harness.request(statement, PaymentsPosted)
        first, second = answer.payments
        assert (first.number, first.partner_id, first.amount) == ("512", romashka, D("45000.00"))
        assert [(a.document, a.amount) for a in first.allocations] == [
            ("ESD-2026-000123", D("30000.00")),
            ("ESD-2026-000124", D("15000.00")),
        ]
        assert first.unallocated == D("0.00")
        assert (second.number, second.partner_id) == ("88", ivanov)
        assert [(a.document, a.amount) for a in second.allocations] == [
            ("ESD-2026-000007", D("10000.00")),
            ("ESD-2026-000008", D("5000.00")),
        ]
        assert second.unallocated == D("1500.00")
        codes = sorted((p.code, p.number) for p in answer.problems)
        assert codes == [("invalid_amount", "513"), ("unreadable_line", None)]
        assert (await harness.balance(romashka)).debt == D("5000.00")

        again = await harness.request(statement, PaymentsPosted)
        assert [p.status for p in again.payments] == ["duplicate", "duplicate"]
        assert (await harness.balance(romashka)).debt == D("5000.00")
        assert (await harness.balance(ivanov)).debt == D("0.00")

    async def test_statement_that_is_not_base64(self, harness: Harness) -> None:
        statement = PostBankStatement(
            correlation_id=uuid.uuid4(), occurred_at=now(), content_base64="%%%"
        )
        answer = await harness.request(statement, PaymentsPosted)
        assert answer.payments == ()
        assert answer.problems[0].code == "invalid_file"


class TestAging:
    async def test_debt_is_bucketed_by_days_past_due(self, harness: Harness) -> None:
        partner = await harness.register(inn=inn())
        day = today(harness)
        # term 15: due = day − age + 15; days past due = age − 15
        shipped = []
        for number, amount, age in [
            ("ESD-2026-000901", "100.00", 3),  # not yet due
            ("ESD-2026-000902", "200.00", 16),  # 1 day past due
            ("ESD-2026-000903", "300.00", 22),  # 7
            ("ESD-2026-000904", "400.00", 23),  # 8
            ("ESD-2026-000905", "500.00", 45),  # 30
            ("ESD-2026-000906", "600.00", 46),  # 31
        ]:
            # hold everything first: the first overdue document blocks further reservations
            held = reserve(partner, amount)
            assert (await harness.ask(held))[0] == "CreditReserved"
            shipped.append((held, number, amount, age))
        for held, number, amount, age in shipped:
            day_of = day - timedelta(days=age)
            await harness.ask(capture(partner, held.order_id, amount, number, document_date=day_of))
        query = GetReceivablesAging(
            correlation_id=uuid.uuid4(), occurred_at=now(), on=day, format="csv"
        )
        report = await harness.request(query, ReceivablesAging)
        (row,) = [r for r in report.rows if r.partner_id == partner]
        assert (row.current, row.overdue_1_7, row.overdue_8_30, row.overdue_30_plus) == (
            D("100.00"),
            D("500.00"),
            D("900.00"),
            D("600.00"),
        )
        assert row.total == D("2100.00")
        assert report.totals.total >= row.total
        assert report.csv is not None
        header, *lines = report.csv.strip().split("\r\n")
        assert header.startswith("partner_id,inn,company_name,current")
        assert any(line.startswith(str(partner)) and "2100.00" in line for line in lines)


class TestOverdueBlock:
    async def test_term_passes_partner_blocked_then_payment_unblocks_at_once(
        self, harness: Harness
    ) -> None:
        payer = inn()
        partner = await harness.register(inn=payer, term_days=15)
        await document(harness, partner, "ESD-2026-000501", "5000.00", today(harness))
        assert not (await harness.balance(partner)).blocked
        try:
            await set_clock(harness, harness.service.clock.now() + timedelta(days=16))
            blocked = await harness.wait_event("PartnerBlocked", partner)
            assert blocked[0]["overdue_amount"] == "5000.00"
            kind, body = await harness.ask(reserve(partner, "10.00"))
            assert (kind, body["reason"]) == ("CreditRefused", "partner_blocked_overdue")
            assert (await harness.balance(partner)).blocked

            answer = await harness.request(
                payments(order(payer, "5000.00", "1", "Оплата УПД ESD-2026-000501")),
                PaymentsPosted,
            )
            assert answer.payments[0].allocations[0].amount == D("5000.00")
            # lifted in the payment's own transaction, not by the next sweep
            kind, _ = await harness.ask(reserve(partner, "10.00"))
            assert kind == "CreditReserved"
            await harness.wait_event("PartnerUnblocked", partner)
            assert not (await harness.balance(partner)).blocked
            assert len(harness.events("PartnerBlocked", partner)) == 1
        finally:
            await set_clock(harness, now())

    async def test_partial_payment_keeps_the_block(self, harness: Harness) -> None:
        payer = inn()
        partner = await harness.register(inn=payer)
        await document(
            harness, partner, "ESD-2026-000601", "900.00", today(harness) - timedelta(days=20)
        )
        await harness.wait_event("PartnerBlocked", partner)
        await harness.request(payments(order(payer, "899.99", "2")), PaymentsPosted)
        balance = await harness.balance(partner)
        assert balance.blocked
        assert balance.overdue_amount == D("0.01")
        kind, body = await harness.ask(reserve(partner, "1.00"))
        assert body.get("reason") == "partner_blocked_overdue"
        await harness.request(payments(order(payer, "0.01", "3")), PaymentsPosted)
        kind, _ = await harness.ask(reserve(partner, "1.00"))
        assert kind == "CreditReserved"


class TestChunkedPosting:
    async def test_interleaved_payers_over_several_chunks_keep_order_and_allocation(
        self, harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Chunks never split a payer: each partner's payments allocate in the order given, and
        the answer lists every payment (and problem) in the order of the request."""
        monkeypatch.setattr(receivables, "CHUNK", 2)
        a, b = inn(), inn()
        pa, pb = await harness.register(inn=a), await harness.register(inn=b)
        day = today(harness)
        await document(harness, pa, "ESD-2026-000701", "100.00", day - timedelta(days=2))
        await document(harness, pa, "ESD-2026-000702", "100.00", day - timedelta(days=1))
        await document(harness, pb, "ESD-2026-000703", "100.00", day - timedelta(days=1))
        answer = await harness.request(
            payments(
                order(a, "100.00", "1"),
                order(b, "60.00", "2"),
                order("7700000001", "10.00", "3"),
                order(a, "100.00", "4"),
                order(b, "60.00", "5"),
                order("7700000002", "10.00", "6"),
            ),
            PaymentsPosted,
        )
        assert [p.number for p in answer.payments] == ["1", "2", "3", "4", "5", "6"]
        assert [p.status for p in answer.payments] == [
            "posted",
            "posted",
            "unknown_payer",
            "posted",
            "posted",
            "unknown_payer",
        ]
        assert [p.number for p in answer.problems] == ["3", "6"]
        assert [[a.document for a in p.allocations] for p in answer.payments] == [
            ["ESD-2026-000701"],
            ["ESD-2026-000703"],
            [],
            ["ESD-2026-000702"],
            ["ESD-2026-000703"],
            [],
        ]
        assert answer.payments[4].unallocated == D("20.00")
        assert (await harness.balance(pa)).debt == D("0.00")
        assert (await harness.balance(pb)).debt == D("0.00")
