"""Payments: which documents a payment's purpose names, and how its money is applied.

A bookkeeper writes the purpose by hand: "Оплата по УПД №ESD-000123 от 01.11.2026 и ESD-000124",
"опл. док. 123, 124", "по счетам № 17, 18 от 02.11.2026". :func:`document_refs` reads the
document references out of it; :func:`allocate` applies the money to the named documents first,
then to the oldest open ones, and keeps the rest as unallocated credit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from credit.domain.model import ZERO

PAYMENT_NAMESPACE = uuid.UUID("3c7f4a8e-2d51-5f0b-9e6a-41d2b7c0a915")


def payment_id(payer_inn: str, number: str, payment_date: date) -> uuid.UUID:
    """The stable identity of a payment: the same (payer, number, date) is the same payment."""
    return uuid.uuid5(PAYMENT_NAMESPACE, f"{payer_inn.strip()}|{number.strip()}|{payment_date}")


@dataclass(frozen=True)
class DocumentRef:
    """A document named in a purpose: its sequence number and, when written, its year."""

    sequence: int
    year: int | None = None

    def matches(self, number: str) -> bool:
        """Does the document numbered ``number`` (``ESD-2026-000123``) carry this reference?"""
        digits = re.findall(r"\d+", number)
        if not digits:
            return False
        if int(digits[-1]) != self.sequence:
            return False
        if self.year is None:
            return True
        return len(digits) >= 2 and int(digits[-2]) == self.year


# One alternation, scanned left to right; the longer forms come first.
_TOKEN = re.compile(
    r"""
    (?P<esd>ESD[-\s]?(?:(?P<esd_year>\d{4})[-\s])?(?P<esd_seq>\d{1,9}))(?!\d)
    | (?P<date>\d{1,2}[./]\d{1,2}[./]\d{2,4})(?!\d)
    | (?P<amount>(?:\d{1,3}(?:\s\d{3})+|\d+)[.,-]\d{2})(?!\d)
    | (?P<percent>\d+\s*%)
    | (?P<long>\d{10,})
    | (?P<number>\d{1,9})(?!\d)
    | (?P<sign>№|N(?=\s*\d)|\#)
    | (?P<joiner>,|;|\+|\bи\b|\band\b)
    | (?P<word>[^\W\d_]+(?:/[^\W\d_]+)?\.?)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_DOCUMENT_WORD = re.compile(
    r"^(упд|док|докум\w*|документ\w*|сч|сч[её]т\w*|с/ф|сф|фактур\w*|накладн\w*|тн|товарн\w*|"
    r"акт\w*|реализац\w*|отгрузк\w*|invoice\w*|inv|nn|no)\.?$",
    re.IGNORECASE,
)
_KEEPS_LIST = re.compile(r"^(от|г|года|дата)\.?$", re.IGNORECASE)


def document_refs(purpose: str) -> list[DocumentRef]:
    """The documents a purpose names, in the order written, without repeats.

    ``ESD-…`` numbers count wherever they stand. A bare number counts after a document word
    (УПД, док., счёт, с/ф, накладная, акт, реализация) or a № sign, and as the next item of such
    a list ("123, 124 и 125"); "от 01.11.2026" inside the list does not end it. Amounts
    ("1500-00", "1 500,00"), percentages, long numbers (ИНН, accounts) and other words end it.
    """
    refs: list[DocumentRef] = []
    expecting = False  # the next bare number is a document reference
    in_list = False  # the last reference may be followed by a joiner and another one
    for match in _TOKEN.finditer(purpose.replace("\u00a0", " ")):
        kind = match.lastgroup
        if kind == "esd":
            year = match.group("esd_year")
            refs.append(DocumentRef(int(match.group("esd_seq")), int(year) if year else None))
            expecting, in_list = False, True
        elif kind == "number" and expecting:
            refs.append(DocumentRef(int(match.group("number"))))
            expecting, in_list = False, True
        elif kind == "amount" and expecting and re.fullmatch(r"\d+,\d{2}", match.group()):
            # "с/ф 12,13" right after a document word is two documents, not 12 roubles 13 kopecks
            refs.extend(DocumentRef(int(part)) for part in match.group().split(","))
            expecting, in_list = False, True
        elif kind == "sign":
            expecting = True
        elif kind == "joiner":
            expecting = in_list
        elif kind == "date":
            expecting = False  # "№123 от 01.11.2026 и 124": the date belongs to the reference
        elif kind == "word" and _DOCUMENT_WORD.match(match.group("word")):
            expecting, in_list = True, False
        elif kind == "word" and _KEEPS_LIST.match(match.group("word")):
            pass
        else:  # any other word, an unexpected number, an amount, a percentage
            expecting = in_list = False
    unique: list[DocumentRef] = []
    for ref in refs:
        if ref not in unique:
            unique.append(ref)
    return unique


@dataclass(frozen=True)
class OpenDocument:
    """A document with an unpaid part, as allocation sees it."""

    number: str
    document_date: date
    open_amount: Decimal


@dataclass(frozen=True)
class Allocation:
    document_number: str
    amount: Decimal


@dataclass(frozen=True)
class AllocationPlan:
    allocations: tuple[Allocation, ...]
    unallocated: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)


def oldest_first(documents: Iterable[OpenDocument]) -> list[OpenDocument]:
    return sorted(documents, key=lambda d: (d.document_date, d.number))


def allocate(
    amount: Decimal, refs: Sequence[DocumentRef], open_documents: Sequence[OpenDocument]
) -> AllocationPlan:
    """Apply ``amount`` to the documents ``refs`` name (in the order named; a reference that
    fits several documents takes the oldest first), then to the oldest open documents; the rest
    is unallocated. Never applies more than a document's open amount."""
    remaining = amount
    owed = {d.number: d.open_amount for d in open_documents}
    by_age = oldest_first(open_documents)
    order: list[str] = []
    for ref in refs:
        order.extend(d.number for d in by_age if ref.matches(d.number) and d.number not in order)
    order.extend(d.number for d in by_age if d.number not in order)
    allocations: list[Allocation] = []
    for number in order:
        if remaining <= 0:
            break
        share = min(remaining, owed[number])
        if share > 0:
            allocations.append(Allocation(number, share))
            remaining -= share
    return AllocationPlan(tuple(allocations), remaining)


def allocate_in_turn(
    payments: Sequence[tuple[uuid.UUID, Decimal, Sequence[DocumentRef]]],
    open_documents: Sequence[OpenDocument],
) -> dict[uuid.UUID, AllocationPlan]:
    """Allocate several payments of one partner one after another (in the order given), each
    seeing what the ones before it left open."""
    remaining = list(open_documents)
    plans: dict[uuid.UUID, AllocationPlan] = {}
    for key, amount, refs in payments:
        plan = allocate(amount, refs, remaining)
        plans[key] = plan
        paid = {a.document_number: a.amount for a in plan.allocations}
        remaining = [
            OpenDocument(d.number, d.document_date, d.open_amount - paid.get(d.number, ZERO))
            for d in remaining
            if d.open_amount - paid.get(d.number, ZERO) > 0
        ]
    return plans


def still_open(
    open_documents: Sequence[OpenDocument], plans: Iterable[AllocationPlan]
) -> dict[str, Decimal]:
    """What each document still owes after the plans (0 when fully paid)."""
    owed = {d.number: d.open_amount for d in open_documents}
    for plan in plans:
        for a in plan.allocations:
            owed[a.document_number] -= a.amount
    return owed
