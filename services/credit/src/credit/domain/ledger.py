"""The credit ledger: append-only entries from which every balance figure is derived.

Each entry moves up to three running figures of a partner (``reserved``, ``debt`` and
``unallocated`` payment money); the partner's row in the database holds their sums, kept equal
to the ledger in the same transaction. Folding the entries recorded up to a moment gives the
balance at that moment, which is how ``GetBalance.at`` answers.

| kind          | reserved | debt | unallocated | carries                       |
| ------------- | -------- | ---- | ----------- | ----------------------------- |
| reservation   | +a       |      |             | order                         |
| release       | −a       |      |             | order                         |
| capture       | −a       | +a   |             | order, document, due date     |
| document_debt |          | +a   |             | document, due date            |
| payment       |          |      | +a          | payment                       |
| allocation    |          | −a   | −a          | payment, document             |
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from credit.domain.model import ZERO, Figures


class EntryKind(StrEnum):
    RESERVATION = "reservation"
    RELEASE = "release"
    CAPTURE = "capture"
    DOCUMENT_DEBT = "document_debt"
    PAYMENT = "payment"
    ALLOCATION = "allocation"


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only fact about a partner's money."""

    kind: EntryKind
    amount: Decimal
    recorded_at: datetime
    order_id: uuid.UUID | None = None
    document_number: str | None = None
    document_date: date | None = None
    due_date: date | None = None
    payment_id: uuid.UUID | None = None

    @property
    def reserved_delta(self) -> Decimal:
        if self.kind is EntryKind.RESERVATION:
            return self.amount
        if self.kind in (EntryKind.RELEASE, EntryKind.CAPTURE):
            return -self.amount
        return ZERO

    @property
    def debt_delta(self) -> Decimal:
        if self.kind in (EntryKind.CAPTURE, EntryKind.DOCUMENT_DEBT):
            return self.amount
        if self.kind is EntryKind.ALLOCATION:
            return -self.amount
        return ZERO

    @property
    def unallocated_delta(self) -> Decimal:
        if self.kind is EntryKind.PAYMENT:
            return self.amount
        if self.kind is EntryKind.ALLOCATION:
            return -self.amount
        return ZERO


@dataclass(frozen=True)
class OpenDocument:
    """A document's unpaid part, as the ledger knows it."""

    number: str
    document_date: date | None
    due_date: date
    open_amount: Decimal


@dataclass(frozen=True)
class Derived:
    """Everything the ledger says about a partner at one moment."""

    figures: Figures
    open_documents: tuple[OpenDocument, ...]

    @property
    def next_due_date(self) -> date | None:
        return min((d.due_date for d in self.open_documents), default=None)


def derive(entries: Iterable[LedgerEntry], *, limit: Decimal, today: date) -> Derived:
    """Fold ``entries`` (already limited to the moment asked about) into the balance figures.

    ``today`` is the Moscow calendar day of that moment: a document is overdue when its due
    date is before it and part of it is unpaid.
    """
    reserved = debt = unallocated = ZERO
    owed: dict[str, Decimal] = {}
    due: dict[str, date] = {}
    dated: dict[str, date | None] = {}
    for entry in entries:
        reserved += entry.reserved_delta
        debt += entry.debt_delta
        unallocated += entry.unallocated_delta
        number = entry.document_number
        if number is None:
            continue
        if entry.kind in (EntryKind.CAPTURE, EntryKind.DOCUMENT_DEBT):
            owed[number] = owed.get(number, ZERO) + entry.amount
            if entry.due_date is not None:
                due[number] = entry.due_date
            dated.setdefault(number, entry.document_date)
        elif entry.kind is EntryKind.ALLOCATION:
            owed[number] = owed.get(number, ZERO) - entry.amount
    open_documents = tuple(
        sorted(
            (
                OpenDocument(number, dated.get(number), due[number], amount)
                for number, amount in owed.items()
                if amount > 0 and number in due
            ),
            key=lambda d: (d.due_date, d.number),
        )
    )
    overdue = sum((d.open_amount for d in open_documents if d.due_date < today), ZERO)
    figures = Figures(
        limit=limit,
        debt=debt,
        reserved=reserved,
        overdue_amount=overdue,
        unallocated=unallocated,
    )
    return Derived(figures=figures, open_documents=open_documents)
