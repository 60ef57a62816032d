"""Credit lines: the figures of a partner's balance and the rules that decide a reservation.

Pure: stdlib and Decimal only. The database applies the same rule atomically (a conditional
UPDATE on the partner's row); the functions here name the rule, explain a refusal after the
fact, and compute the spec's derived figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

DEFAULT_LIMIT = Decimal("50000.00")
DEFAULT_TERM_DAYS = 15
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """Round to kopecks (half up, as bookkeepers do), the only precision money has here."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class RefusalReason(StrEnum):
    """Why a reservation is refused; the values are the spec's error codes."""

    CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
    PARTNER_BLOCKED_OVERDUE = "partner_blocked_overdue"
    UNKNOWN_PARTNER = "unknown_partner"


class ReservationState(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"


@dataclass(frozen=True)
class Terms:
    """A partner's limit and payment term; a change applies to documents made after it."""

    limit: Decimal = DEFAULT_LIMIT
    term_days: int = DEFAULT_TERM_DAYS

    def due_date(self, document_date: date) -> date:
        return document_date + timedelta(days=self.term_days)


@dataclass(frozen=True)
class Figures:
    """The running figures of one credit line, as the partner's row and the ledger hold them."""

    limit: Decimal
    debt: Decimal = ZERO
    reserved: Decimal = ZERO
    overdue_amount: Decimal = ZERO
    unallocated: Decimal = ZERO

    @property
    def remainder(self) -> Decimal:
        """limit − debt (the spec's definition)."""
        return self.limit - self.debt

    @property
    def available(self) -> Decimal:
        """remainder − reserved: what a new order may still hold."""
        return self.remainder - self.reserved

    @property
    def blocked(self) -> bool:
        """Any unpaid debt past its due date blocks new non-test orders."""
        return self.overdue_amount > 0

    def can_reserve(self, amount: Decimal) -> bool:
        """The rule the conditional UPDATE enforces: limit − debt − reserved ≥ amount."""
        return self.available >= amount


def refusal_reason(*, line_exists: bool, blocked: bool) -> RefusalReason:
    """Explain why the database refused a reservation (checked in the order the saga expects:
    an unknown partner, then an overdue block, then the limit)."""
    if not line_exists:
        return RefusalReason.UNKNOWN_PARTNER
    if blocked:
        return RefusalReason.PARTNER_BLOCKED_OVERDUE
    return RefusalReason.CREDIT_LIMIT_EXCEEDED
