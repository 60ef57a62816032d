"""Shipping documents: which day a shipment belongs to, how a document is numbered, when it is
due, and what it sums to. Pure rules: stdlib and Decimal only, no I/O.

One document per partner per calendar day in Europe/Moscow. A line belongs to the Moscow day of
the moment its keys were issued (23:59:59 Moscow is that day, 00:00:00 the next).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")

DEFAULT_TERM_DAYS = 15
"""The spec's default payment term, used while a partner's terms have not arrived yet."""

NUMBER_PREFIX = "ESD"
NUMBER_DIGITS = 6

KOPECK = Decimal("0.01")


def document_day(moment: datetime) -> date:
    """The Moscow calendar day of ``moment``; a naive moment is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(MOSCOW).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC interval [start, end) of a Moscow calendar day."""
    start = datetime(day.year, day.month, day.day, tzinfo=MOSCOW)
    end = start + timedelta(days=1)  # Moscow has no DST since 2014; add a day to the wall time
    return start.astimezone(UTC), end.astimezone(UTC)


def format_number(year: int, sequence: int) -> str:
    """``ESD-2026-000001``: gapless ``sequence`` within the document's ``year``."""
    if sequence < 1:
        raise ValueError("document sequence numbers start at 1")
    return f"{NUMBER_PREFIX}-{year:04d}-{sequence:0{NUMBER_DIGITS}d}"


def parse_number(number: str) -> tuple[int, int] | None:
    """``(year, sequence)`` of a well-formed number, ``None`` otherwise."""
    parts = number.split("-")
    if len(parts) != 3 or parts[0] != NUMBER_PREFIX:
        return None
    year, sequence = parts[1], parts[2]
    if not (year.isdigit() and len(year) == 4 and sequence.isdigit()):
        return None
    return int(year), int(sequence)


@dataclass(frozen=True)
class TermsChange:
    """A partner's payment term, in force from the Moscow day of ``effective_from`` on."""

    effective_from: datetime
    term_days: int


def term_in_force(history: Iterable[TermsChange], day: date) -> int:
    """The term in force on ``day``: the latest change made on or before that day.

    A change made during a day applies to that day's document already (ops who set 30 days
    expect today's orders to be due in 30 days). Without any change the default applies.
    """
    best: TermsChange | None = None
    for change in history:
        if document_day(change.effective_from) > day:
            continue
        if best is None or change.effective_from >= best.effective_from:
            best = change
    return best.term_days if best is not None else DEFAULT_TERM_DAYS


def due_date(document_date: date, term_days: int) -> date:
    """Calendar days after the document's date (the spec's rule; no business-day shifting)."""
    return document_date + timedelta(days=term_days)


class DocumentStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"


def document_status(amount: Decimal, paid_amount: Decimal, due: date, today: date) -> str:
    """Paid once fully paid; overdue when unpaid after its due date; open otherwise."""
    if paid_amount >= amount:
        return DocumentStatus.PAID.value
    if due < today:
        return DocumentStatus.OVERDUE.value
    return DocumentStatus.OPEN.value


@dataclass(frozen=True)
class Totals:
    amount: Decimal
    vat_amount: Decimal


def totals(lines: Sequence[tuple[Decimal, Decimal]]) -> Totals:
    """Sum of (amount, vat_amount) lines, exact to the kopeck (Decimal, never float)."""
    amount = sum((a for a, _ in lines), Decimal("0.00")).quantize(KOPECK)
    vat = sum((v for _, v in lines), Decimal("0.00")).quantize(KOPECK)
    return Totals(amount, vat)


def closing_cutoff(now: datetime, grace: timedelta) -> date:
    """Documents dated before the returned day are closed at ``now``.

    A day closes ``grace`` after Moscow midnight: a shipment made at 23:59:59 whose
    RecordShipment is still in flight at midnight lands on its own day's document rather than
    on a supplement.
    """
    return document_day(now - grace)


class ClosingMismatch(RuntimeError):
    """A document's running totals differ from the sum of its lines: never close it so."""
