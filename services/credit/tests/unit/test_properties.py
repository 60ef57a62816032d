"""Property-based tests of the pure money rules: allocation conserves money and respects order;
the ledger fold agrees with a running model for any sequence of entries."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from credit.domain.ledger import EntryKind, LedgerEntry, derive
from credit.domain.payments import DocumentRef, OpenDocument, allocate, allocate_in_turn
from hypothesis import given
from hypothesis import strategies as st

D = Decimal
money = st.decimals(min_value=D("0.01"), max_value=D("100000.00"), places=2)
documents = st.lists(
    st.tuples(st.integers(1, 30), st.integers(0, 60), money), max_size=8, unique_by=lambda t: t[0]
).map(
    lambda rows: [
        OpenDocument(f"ESD-2026-{seq:06d}", date(2026, 1, 1) + timedelta(days=day), amount)
        for seq, day, amount in rows
    ]
)
refs = st.lists(st.integers(1, 30).map(DocumentRef), max_size=3)


class TestAllocationProperties:
    @given(amount=money, named=refs, open_documents=documents)
    def test_money_is_conserved_and_no_document_is_overpaid(
        self, amount: Decimal, named: list[DocumentRef], open_documents: list[OpenDocument]
    ) -> None:
        plan = allocate(amount, named, open_documents)
        assert plan.allocated + plan.unallocated == amount
        assert plan.unallocated >= 0
        owed = {d.number: d.open_amount for d in open_documents}
        for a in plan.allocations:
            assert 0 < a.amount <= owed[a.document_number]
        assert len({a.document_number for a in plan.allocations}) == len(plan.allocations)
        # something is left over only when every open document is paid in full
        if plan.unallocated > 0:
            assert plan.allocated == sum(owed.values(), D(0))

    @given(amount=money, named=refs, open_documents=documents)
    def test_named_documents_are_paid_before_any_other(
        self, amount: Decimal, named: list[DocumentRef], open_documents: list[OpenDocument]
    ) -> None:
        plan = allocate(amount, named, open_documents)
        is_named = [any(r.matches(a.document_number) for r in named) for a in plan.allocations]
        assert is_named == sorted(is_named, reverse=True)

    @given(amounts=st.lists(money, min_size=1, max_size=5), open_documents=documents)
    def test_payments_in_turn_never_pay_more_than_is_owed(
        self, amounts: list[Decimal], open_documents: list[OpenDocument]
    ) -> None:
        plans = allocate_in_turn([(uuid.uuid4(), amount, []) for amount in amounts], open_documents)
        total_owed = sum((d.open_amount for d in open_documents), D(0))
        allocated = sum((p.allocated for p in plans.values()), D(0))
        assert allocated == min(total_owed, sum(amounts, D(0)))


entry_kinds = st.sampled_from(list(EntryKind))


class TestLedgerFold:
    @given(st.lists(st.tuples(entry_kinds, money, st.integers(0, 3)), max_size=40))
    def test_fold_equals_running_sums(self, raw: list[tuple[EntryKind, Decimal, int]]) -> None:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        entries = [
            LedgerEntry(
                kind=kind,
                amount=amount,
                recorded_at=t0 + timedelta(minutes=i),
                document_number=f"D{doc}",
                due_date=date(2026, 1, 10) + timedelta(days=doc),
            )
            for i, (kind, amount, doc) in enumerate(raw)
        ]
        reserved = debt = unallocated = D(0)
        for kind, amount, _ in raw:
            if kind is EntryKind.RESERVATION:
                reserved += amount
            elif kind in (EntryKind.RELEASE,):
                reserved -= amount
            elif kind is EntryKind.CAPTURE:
                reserved, debt = reserved - amount, debt + amount
            elif kind is EntryKind.DOCUMENT_DEBT:
                debt += amount
            elif kind is EntryKind.PAYMENT:
                unallocated += amount
            else:
                debt, unallocated = debt - amount, unallocated - amount
        figures = derive(entries, limit=D("1000"), today=date(2026, 1, 12)).figures
        assert (figures.reserved, figures.debt, figures.unallocated) == (
            reserved,
            debt,
            unallocated,
        )
        assert figures.available == D("1000") - debt - reserved
