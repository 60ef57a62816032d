"""The credit line over the real broker and database: reserve, capture, release, refusals,
duplicate deliveries, the overdue block, a race for the last roubles, and GetBalance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .conftest import Harness, capture, now, release, reserve, set_terms

pytestmark = pytest.mark.integration


class TestRegistration:
    async def test_registration_opens_a_line_and_announces_its_terms(
        self, harness: Harness
    ) -> None:
        partner = await harness.register(limit="70000.00", term_days=30)
        kind, body = harness.replies[partner][0]
        assert kind == "CreditTermsSet"
        assert (body["limit"], body["term_days"]) == ("70000.00", 30)
        balance = await harness.balance(partner)
        assert balance.found
        assert balance.limit == Decimal("70000.00")
        assert balance.available == Decimal("70000.00")
        assert balance.term_days == 30
        assert not balance.blocked
        assert balance.next_due_date is None

    async def test_set_credit_terms_changes_the_limit_and_announces_it(
        self, harness: Harness
    ) -> None:
        partner = await harness.register()
        await harness.publish(set_terms(partner, "120000.00", 10))
        await harness.reply(partner, 2)
        kind, body = harness.replies[partner][1]
        assert kind == "CreditTermsSet"
        assert (body["limit"], body["term_days"]) == ("120000.00", 10)
        balance = await harness.balance(partner)
        assert (balance.limit, balance.term_days) == (Decimal("120000.00"), 10)
        history = await harness.sql(
            "SELECT credit_limit, source FROM terms_history WHERE partner_id = :p ORDER BY id",
            p=partner,
        )
        assert [(r.credit_limit, r.source) for r in history] == [
            (Decimal("50000.00"), "registration"),
            (Decimal("120000.00"), "ops"),
        ]

    async def test_unknown_partner_has_no_balance(self, harness: Harness) -> None:
        balance = await harness.balance(uuid.uuid4())
        assert not balance.found


class TestReserveCaptureRelease:
    async def test_reserve_then_capture_turns_the_hold_into_debt(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "1500.00")
        kind, body = await harness.ask(cmd)
        assert (kind, body["amount"]) == ("CreditReserved", "1500.00")
        held = await harness.balance(partner)
        assert (held.reserved, held.debt, held.available) == (
            Decimal("1500.00"),
            Decimal("0.00"),
            Decimal("48500.00"),
        )
        kind, body = await harness.ask(capture(partner, cmd.order_id, "1500.00"))
        assert (kind, body["amount"]) == ("CreditCaptured", "1500.00")
        balance = await harness.balance(partner)
        assert balance.reserved == Decimal("0.00")
        assert balance.debt == Decimal("1500.00")
        assert balance.remainder == Decimal("48500.00")
        assert balance.available == Decimal("48500.00")
        assert balance.next_due_date == date.today() + timedelta(days=15)
        assert not balance.blocked

    async def test_release_frees_the_hold(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "2000.00")
        await harness.ask(cmd)
        kind, _ = await harness.ask(release(partner, cmd.order_id))
        assert kind == "CreditReleased"
        balance = await harness.balance(partner)
        assert (balance.reserved, balance.available) == (Decimal("0.00"), Decimal("50000.00"))

    async def test_release_without_a_reservation_still_answers(self, harness: Harness) -> None:
        partner = await harness.register()
        kind, _ = await harness.ask(release(partner, uuid.uuid4()))
        assert kind == "CreditReleased"

    async def test_capture_after_release_changes_nothing_but_answers(
        self, harness: Harness
    ) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "300.00")
        await harness.ask(cmd)
        await harness.ask(release(partner, cmd.order_id))
        kind, body = await harness.ask(capture(partner, cmd.order_id, "300.00"))
        assert (kind, body["amount"]) == ("CreditCaptured", "0.00")
        balance = await harness.balance(partner)
        assert (balance.debt, balance.reserved) == (Decimal("0.00"), Decimal("0.00"))

    async def test_second_capture_of_a_reservation_adds_no_debt(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "700.00")
        await harness.ask(cmd)
        await harness.ask(capture(partner, cmd.order_id, "700.00"))
        kind, body = await harness.ask(capture(partner, cmd.order_id, "700.00"))
        assert (kind, body["amount"]) == ("CreditCaptured", "700.00")
        assert (await harness.balance(partner)).debt == Decimal("700.00")
        # and releasing a captured reservation gives nothing back
        await harness.ask(release(partner, cmd.order_id))
        assert (await harness.balance(partner)).debt == Decimal("700.00")


class TestRefusals:
    async def test_refuses_when_available_is_short(self, harness: Harness) -> None:
        partner = await harness.register(limit="1000.00")
        await harness.ask(reserve(partner, "600.00"))
        kind, body = await harness.ask(reserve(partner, "400.01"))
        assert (kind, body["reason"]) == ("CreditRefused", "credit_limit_exceeded")
        kind, _ = await harness.ask(reserve(partner, "400.00"))
        assert kind == "CreditReserved"
        assert (await harness.balance(partner)).available == Decimal("0.00")

    async def test_refuses_an_unknown_partner(self, harness: Harness) -> None:
        kind, body = await harness.ask(reserve(uuid.uuid4(), "1.00"))
        assert (kind, body["reason"]) == ("CreditRefused", "unknown_partner")

    async def test_refuses_a_partner_with_overdue_debt(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "100.00")
        await harness.ask(cmd)
        long_ago = date.today() - timedelta(days=40)
        await harness.ask(capture(partner, cmd.order_id, "100.00", document_date=long_ago))
        balance = await harness.balance(partner)
        assert balance.blocked
        assert balance.overdue_amount == Decimal("100.00")
        assert balance.next_due_date == long_ago + timedelta(days=15)
        kind, body = await harness.ask(reserve(partner, "1.00"))
        assert (kind, body["reason"]) == ("CreditRefused", "partner_blocked_overdue")
        assert (await harness.balance(partner)).reserved == Decimal("0.00")

    async def test_debt_due_today_does_not_block(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "100.00")
        await harness.ask(cmd)
        # due today in Moscow: not yet overdue (due_date < today blocks)
        day = harness.service.clock.today_moscow() - timedelta(days=15)
        await harness.ask(capture(partner, cmd.order_id, "100.00", document_date=day))
        kind, _ = await harness.ask(reserve(partner, "1.00"))
        assert kind == "CreditReserved"


class TestDuplicates:
    async def test_redelivered_reserve_holds_once(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "1000.00")
        await harness.publish(cmd)
        await harness.publish(cmd)  # same message_id: the inbox drops it
        await harness.reply(cmd.order_id)
        # a second command for the same order (new message id) answers but holds nothing more
        again = reserve(partner, "1000.00", order_id=cmd.order_id)
        await harness.publish(again)
        replies = await harness.reply(cmd.order_id, 2)
        assert [kind for kind, _ in replies] == ["CreditReserved", "CreditReserved"]
        assert (await harness.balance(partner)).reserved == Decimal("1000.00")
        rows = await harness.sql("SELECT count(*) FROM ledger WHERE order_id = :o", o=cmd.order_id)
        assert rows[0][0] == 1

    async def test_redelivered_capture_adds_debt_once(self, harness: Harness) -> None:
        partner = await harness.register()
        cmd = reserve(partner, "250.00")
        await harness.ask(cmd)
        cap = capture(partner, cmd.order_id, "250.00")
        await harness.publish(cap)
        await harness.publish(cap)
        await harness.reply(cmd.order_id, 2)
        await asyncio.sleep(0.3)  # give a wrongly accepted duplicate time to show up
        assert len(harness.replies[cmd.order_id]) == 2
        assert (await harness.balance(partner)).debt == Decimal("250.00")


class TestRace:
    async def test_hundred_concurrent_reservations_never_exceed_the_limit(
        self, harness: Harness
    ) -> None:
        partner = await harness.register(limit="50000.00")
        commands = [reserve(partner, "700.00") for _ in range(100)]
        await asyncio.gather(*(harness.publish(c) for c in commands))
        for c in commands:
            await harness.reply(c.order_id)
        kinds = [harness.replies[c.order_id][0][0] for c in commands]
        assert kinds.count("CreditReserved") == 71  # 71 × 700 = 49,700 ≤ 50,000 < 72 × 700
        assert kinds.count("CreditRefused") == 29
        balance = await harness.balance(partner)
        assert balance.reserved == Decimal("49700.00")
        assert balance.reserved + balance.debt <= balance.limit
        ledger = await harness.sql(
            "SELECT sum(amount) FROM ledger WHERE partner_id = :p AND kind = 'reservation'",
            p=partner,
        )
        assert ledger[0][0] == Decimal("49700.00")


class TestLedger:
    async def test_the_row_equals_the_ledger(self, harness: Harness) -> None:
        partner = await harness.register()
        a, b, c = (reserve(partner, amount) for amount in ("100.00", "200.00", "300.00"))
        for cmd in (a, b, c):
            await harness.ask(cmd)
        await harness.ask(capture(partner, a.order_id, "100.00"))
        await harness.ask(release(partner, b.order_id))
        rows = await harness.sql(
            """
            SELECT l.reserved, l.debt,
                   (SELECT sum(CASE kind WHEN 'reservation' THEN amount
                                         WHEN 'release' THEN -amount
                                         WHEN 'capture' THEN -amount ELSE 0 END)
                    FROM ledger WHERE partner_id = l.partner_id) AS ledger_reserved,
                   (SELECT sum(CASE kind WHEN 'capture' THEN amount ELSE 0 END)
                    FROM ledger WHERE partner_id = l.partner_id) AS ledger_debt
            FROM credit_lines l WHERE partner_id = :p
            """,
            p=partner,
        )
        row = rows[0]
        assert (row.reserved, row.debt) == (Decimal("300.00"), Decimal("100.00"))
        assert (row.ledger_reserved, row.ledger_debt) == (row.reserved, row.debt)

    async def test_ledger_refuses_changes(self, harness: Harness) -> None:
        async def delete_history() -> None:
            async with harness.service.engine.begin() as conn:
                await conn.execute(text("DELETE FROM ledger"))

        with pytest.raises(DBAPIError, match="append-only"):
            await delete_history()


class TestBalanceAt:
    async def test_balance_is_reconstructed_at_a_past_moment(self, harness: Harness) -> None:
        partner = await harness.register()
        before_anything = now()
        cmd = reserve(partner, "1200.00")
        await harness.ask(cmd)
        while_held = now()
        await harness.ask(capture(partner, cmd.order_id, "1200.00"))
        await harness.publish(set_terms(partner, "90000.00", 20))
        await harness.reply(partner, 2)

        held = await harness.balance(partner, at=while_held)
        assert (held.reserved, held.debt, held.limit, held.term_days) == (
            Decimal("1200.00"),
            Decimal("0.00"),
            Decimal("50000.00"),
            15,
        )
        assert held.available == Decimal("48800.00")
        empty = await harness.balance(partner, at=before_anything)
        assert (empty.reserved, empty.debt) == (Decimal("0.00"), Decimal("0.00"))
        current = await harness.balance(partner)
        assert (current.debt, current.limit, current.term_days) == (
            Decimal("1200.00"),
            Decimal("90000.00"),
            20,
        )

    async def test_before_registration_the_partner_is_not_found(self, harness: Harness) -> None:
        earlier = now() - timedelta(seconds=5)
        partner = await harness.register()
        assert not (await harness.balance(partner, at=earlier)).found
