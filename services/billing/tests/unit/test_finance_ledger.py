"""The sample ledger (examples/finance_consumer.py) alone: postings, dedupe, reconciliation."""

from __future__ import annotations

import uuid
from pathlib import Path

from examples.finance_consumer import (
    BANK,
    RECEIVABLES,
    REVENUE,
    VAT_ON_REVENUE,
    VAT_PAYABLE,
    Ledger,
    report,
)

PARTNER = str(uuid.uuid4())


def line(number: str, amount: str, vat: str = "0.00") -> dict[str, object]:
    return {
        "partner_id": PARTNER,
        "document_number": number,
        "document_date": "2026-03-10",
        "position": 1,
        "order_id": str(uuid.uuid4()),
        "sku": "X",
        "quantity": 1,
        "amount": amount,
        "vat_rate": "exempt" if vat == "0.00" else "22",
        "vat_amount": vat,
    }


def closed(number: str, amount: str, vat: str, lines: int) -> dict[str, object]:
    return {
        "partner_id": PARTNER,
        "document_number": number,
        "document_date": "2026-03-10",
        "due_date": "2026-03-25",
        "line_count": lines,
        "amount": amount,
        "vat_amount": vat,
    }


def allocated(number: str, amount: str) -> dict[str, object]:
    return {
        "payment_id": str(uuid.uuid4()),
        "partner_id": PARTNER,
        "document_number": number,
        "amount": amount,
        "payment_date": "2026-03-20",
        "document_paid": False,
    }


class TestLedger:
    def test_sale_posts_receivable_revenue_and_vat(self) -> None:
        ledger = Ledger()
        ledger.apply("a", "DocumentLineAdded", line("D1", "1500.00"))
        ledger.apply("b", "DocumentLineAdded", line("D1", "610.00", "110.00"))
        assert str(ledger.balance(RECEIVABLES)) == "2110.00"
        assert str(ledger.balance(REVENUE)) == "-2110.00"
        assert str(ledger.balance(VAT_ON_REVENUE)) == "110.00"
        assert str(ledger.balance(VAT_PAYABLE)) == "-110.00"
        assert sum(ledger.trial_balance().values()) == 0

    def test_duplicate_event_is_posted_once(self) -> None:
        ledger = Ledger()
        event = line("D1", "99.99")
        assert ledger.apply("same-id", "DocumentLineAdded", event)
        assert not ledger.apply("same-id", "DocumentLineAdded", event)
        assert str(ledger.balance(RECEIVABLES, PARTNER)) == "99.99"
        assert ledger.handled() == 1

    def test_reconciles_closed_documents_with_their_lines(self) -> None:
        ledger = Ledger()
        ledger.apply("a", "DocumentLineAdded", line("D1", "0.10"))
        ledger.apply("b", "DocumentLineAdded", line("D1", "0.20"))
        ledger.apply("c", "DocumentClosed", closed("D1", "0.30", "0.00", 2))
        assert ledger.reconcile() == []
        ledger.apply("d", "DocumentClosed", closed("D2", "5.00", "0.00", 1))  # its line is lost
        [problem] = ledger.reconcile()
        assert problem.document == "D2"
        assert "Documents: 2, discrepancies: 1" in report(ledger)

    def test_state_survives_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "ledger.sqlite3"
        first = Ledger(path)
        first.apply("a", "DocumentLineAdded", line("D1", "10.00"))
        first.close()
        second = Ledger(path)
        assert not second.apply("a", "DocumentLineAdded", line("D1", "10.00"))
        assert str(second.balance(RECEIVABLES)) == "10.00"

    def test_allocated_payment_settles_the_documents_receivable_once(self) -> None:
        ledger = Ledger()
        ledger.apply("a", "DocumentLineAdded", line("D1", "1000.00"))
        payment = allocated("D1", "400.00")
        assert ledger.apply("p1", "PaymentAllocated", payment)
        assert not ledger.apply("p1", "PaymentAllocated", payment)  # redelivered or replayed
        ledger.apply("p2", "PaymentAllocated", allocated("D1", "600.00"))
        assert str(ledger.balance(RECEIVABLES, PARTNER)) == "0.00"
        assert str(ledger.balance(BANK)) == "1000.00"
        assert str(ledger.paid()["D1"]) == "1000.00"
        assert sum(ledger.trial_balance().values()) == 0

    def test_a_ledger_file_from_before_payments_gets_the_paid_column(self, tmp_path: Path) -> None:
        import sqlite3

        path = tmp_path / "old.sqlite3"
        old = sqlite3.connect(path)
        old.executescript(
            "CREATE TABLE documents (number TEXT PRIMARY KEY, partner_id TEXT NOT NULL, "
            "date TEXT NOT NULL, lines INTEGER NOT NULL DEFAULT 0, amount INTEGER NOT NULL "
            "DEFAULT 0, vat_amount INTEGER NOT NULL DEFAULT 0, closed_lines INTEGER, "
            "closed_amount INTEGER, closed_vat_amount INTEGER)"
        )
        old.close()
        ledger = Ledger(path)
        ledger.apply("a", "DocumentLineAdded", line("D1", "10.00"))
        ledger.apply("p", "PaymentAllocated", allocated("D1", "10.00"))
        assert str(ledger.paid()["D1"]) == "10.00"
