"""Domain rules of a credit line: derived figures, the reservation rule, refusal reasons, and the
ledger fold that reconstructs a balance."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from credit.domain.ledger import EntryKind, LedgerEntry, derive
from credit.domain.model import (
    DEFAULT_LIMIT,
    DEFAULT_TERM_DAYS,
    Figures,
    RefusalReason,
    Terms,
    money,
    refusal_reason,
)

D = Decimal
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


class TestFigures:
    def test_remainder_is_limit_minus_debt_and_available_subtracts_reserved(self) -> None:
        figures = Figures(limit=D("50000.00"), debt=D("12000.00"), reserved=D("3000.00"))
        assert figures.remainder == D("38000.00")
        assert figures.available == D("35000.00")

    def test_overdue_debt_blocks(self) -> None:
        assert Figures(limit=D(1), overdue_amount=D("0.01")).blocked
        assert not Figures(limit=D(1)).blocked

    def test_available_may_be_negative_after_the_limit_is_lowered(self) -> None:
        figures = Figures(limit=D("1000.00"), debt=D("1500.00"))
        assert figures.available == D("-500.00")
        assert not figures.can_reserve(D("0.01"))


class TestReserveCredit:
    def test_reserves_exactly_the_available_amount(self) -> None:
        figures = Figures(limit=D("1000.00"), debt=D("400.00"), reserved=D("100.00"))
        assert figures.can_reserve(D("500.00"))

    def test_refuses_when_available_is_short(self) -> None:
        figures = Figures(limit=D("1000.00"), debt=D("400.00"), reserved=D("100.00"))
        assert not figures.can_reserve(D("500.01"))

    def test_unknown_partner_comes_before_everything(self) -> None:
        reason = refusal_reason(line_exists=False, blocked=True)
        assert reason is RefusalReason.UNKNOWN_PARTNER

    def test_overdue_block_comes_before_the_limit(self) -> None:
        assert refusal_reason(line_exists=True, blocked=True).value == "partner_blocked_overdue"

    def test_otherwise_the_limit_is_exceeded(self) -> None:
        assert refusal_reason(line_exists=True, blocked=False).value == "credit_limit_exceeded"


class TestTerms:
    def test_defaults_are_the_specs(self) -> None:
        assert (D("50000.00"), 15) == (DEFAULT_LIMIT, DEFAULT_TERM_DAYS)
        assert Terms() == Terms(D("50000.00"), 15)

    def test_due_date_is_term_calendar_days_after_the_document(self) -> None:
        assert Terms(term_days=15).due_date(date(2026, 11, 20)) == date(2026, 12, 5)

    def test_money_rounds_to_kopecks(self) -> None:
        assert money("10.005") == D("10.01")
        assert str(money(5)) == "5.00"


def entry(kind: EntryKind, amount: str, minutes: int = 0, **kw: object) -> LedgerEntry:
    return LedgerEntry(
        kind=kind,
        amount=D(amount),
        recorded_at=T0 + timedelta(minutes=minutes),
        **kw,  # type: ignore[arg-type]
    )


class TestLedgerDerive:
    def test_reservation_capture_release_move_reserved_and_debt(self) -> None:
        a, b = uuid.uuid4(), uuid.uuid4()
        entries = [
            entry(EntryKind.RESERVATION, "100.00", order_id=a),
            entry(EntryKind.RESERVATION, "50.00", order_id=b),
            entry(
                EntryKind.CAPTURE,
                "100.00",
                order_id=a,
                document_number="ESD-1",
                due_date=date(2026, 11, 16),
            ),
            entry(EntryKind.RELEASE, "50.00", order_id=b),
        ]
        derived = derive(entries, limit=D("1000.00"), today=date(2026, 11, 1))
        assert derived.figures.reserved == D("0.00")
        assert derived.figures.debt == D("100.00")
        assert derived.figures.available == D("900.00")
        assert derived.next_due_date == date(2026, 11, 16)

    def test_unpaid_document_past_due_is_overdue(self) -> None:
        entries = [
            entry(
                EntryKind.DOCUMENT_DEBT, "300.00", document_number="A", due_date=date(2026, 11, 5)
            ),
            entry(
                EntryKind.DOCUMENT_DEBT, "200.00", document_number="B", due_date=date(2026, 11, 9)
            ),
        ]
        derived = derive(entries, limit=D("1000.00"), today=date(2026, 11, 6))
        assert derived.figures.overdue_amount == D("300.00")
        assert derived.figures.blocked
        on_due_day = derive(entries, limit=D("1000.00"), today=date(2026, 11, 5))
        assert not on_due_day.figures.blocked

    def test_payment_allocated_to_a_document_reduces_its_debt(self) -> None:
        pay = uuid.uuid4()
        entries = [
            entry(
                EntryKind.DOCUMENT_DEBT, "300.00", document_number="A", due_date=date(2026, 11, 5)
            ),
            entry(EntryKind.PAYMENT, "500.00", payment_id=pay),
            entry(EntryKind.ALLOCATION, "300.00", payment_id=pay, document_number="A"),
        ]
        derived = derive(entries, limit=D("1000.00"), today=date(2026, 11, 30))
        assert derived.figures.debt == D("0.00")
        assert derived.figures.unallocated == D("200.00")
        assert not derived.figures.blocked
        assert derived.open_documents == ()
