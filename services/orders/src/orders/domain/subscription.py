"""A subscription's lifecycle: pure rules, no I/O.

A subscription holds its *last confirmed* state (what the vendor has confirmed) and at most one
pending change (sent to the vendor, not confirmed yet). Every change is asked on a Moscow
calendar day and takes effect that day once the vendor confirms it; a confirmation appends one
history entry with the next ``sequence`` and yields one ``SubscriptionChanged``. A vendor
refusal drops the pending change and records why: the subscription stays as it was.

    pending ──confirmed──▶ active ◀──resume── suspended
       │                     │ ──suspend──▶     │
       │refused              │cancel            │cancel
       ▼                     ▼                  ▼
     failed              cancelled (final: never resumed)

Charges use the one proration formula (``esd_contracts.subscriptions.proration``): each day of
the month is billed for the seats of the last change effective on or before it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.proration import DayState, month_charge, month_days

_NAMESPACE = uuid.UUID("0b6d3f3c-1f0e-4b8e-9d55-6a4c1e2b7f31")

LIVE = frozenset({"active", "suspended"})


class Refused(Exception):
    """The rules refuse the request; ``code`` is stable, ``status`` its HTTP status."""

    def __init__(self, code: str, detail: str, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def step_id(subscription_id: uuid.UUID, step: str) -> uuid.UUID:
    """Deterministic id of one step of one subscription (message ids, change ids)."""
    return uuid.uuid5(_NAMESPACE, f"{subscription_id}:{step}")


def fingerprint(sku: str, quantity: int, test: bool) -> str:
    """Identity of a create body (the external id is the key it is stored under)."""
    canonical = json.dumps(
        {"sku": sku, "quantity": quantity, "test": bool(test)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One confirmed change."""

    sequence: int
    change: str
    status: str
    quantity: int
    seats: int
    effective_date: date
    at: datetime


@dataclass(frozen=True)
class Pending:
    """A change sent to the vendor and not yet confirmed."""

    change_id: uuid.UUID
    change: str
    status: str
    quantity: int
    effective_date: date
    requested_at: datetime


@dataclass
class Subscription:
    subscription_id: uuid.UUID
    partner_id: uuid.UUID
    external_id: str
    fingerprint: str
    sku: str
    name: str
    vendor: str
    monthly_price: Decimal
    vat_rate: str
    test: bool
    status: str
    quantity: int
    created_at: datetime
    updated_at: datetime
    tenant_id: str | None = None
    pending: Pending | None = None
    vendor_error: str | None = None
    sequence: int = 0
    history: list[Entry] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        subscription_id: uuid.UUID,
        partner_id: uuid.UUID,
        external_id: str,
        sku: str,
        name: str,
        vendor: str,
        quantity: int,
        monthly_price: Decimal,
        vat_rate: str,
        test: bool,
        today: date,
        now: datetime,
    ) -> Subscription:
        """A new subscription waiting for the vendor, effective ``today`` once confirmed."""
        return cls(
            subscription_id=subscription_id,
            partner_id=partner_id,
            external_id=external_id,
            fingerprint=fingerprint(sku, quantity, test),
            sku=sku,
            name=name,
            vendor=vendor,
            monthly_price=monthly_price,
            vat_rate=vat_rate,
            test=test,
            status="pending",
            quantity=quantity,
            created_at=now,
            updated_at=now,
            pending=Pending(
                change_id=step_id(subscription_id, "create"),
                change="created",
                status="active",
                quantity=quantity,
                effective_date=today,
                requested_at=now,
            ),
        )

    # -- asking for a change ----------------------------------------------------------------

    def request(
        self, action: str, quantity: int | None, today: date, now: datetime
    ) -> Pending | None:
        """The change to send to the vendor, or None when it is already so (nothing to do).

        Raises :class:`Refused` when the state does not allow it.
        """
        target = self._target(action, quantity)
        if self.pending is not None:
            if (self.pending.status, self.pending.quantity) == target:
                return None  # asked again while the vendor works on it
            raise Refused("change_pending", "the vendor has not confirmed the previous change yet")
        if self.status in ("pending", "failed"):
            raise Refused("invalid_state", f"the subscription is {self.status}")
        status, seats = target
        if self.status == "cancelled":
            if action == "cancel":
                return None
            if action == "resume":
                raise Refused("not_resumable", "a cancelled subscription cannot be resumed")
            raise Refused("invalid_state", "the subscription is cancelled")
        if (status, seats) == (self.status, self.quantity):
            return None
        change = {
            "quantity": "quantity_changed",
            "suspend": "suspended",
            "resume": "resumed",
            "cancel": "cancelled",
        }[action]
        pending = Pending(
            change_id=uuid.uuid4(),
            change=change,
            status=status,
            quantity=seats,
            effective_date=today,
            requested_at=now,
        )
        self.pending = pending
        self.updated_at = now
        return pending

    def _target(self, action: str, quantity: int | None) -> tuple[str, int]:
        """(status, quantity) the action leads to from the last confirmed state."""
        if action == "quantity":
            if quantity is None or not 1 <= quantity <= 1000:
                raise Refused("invalid_quantity", "quantity must be an integer in 1..1000", 422)
            return self.status, quantity
        if action == "suspend":
            return ("suspended" if self.status == "active" else self.status), self.quantity
        if action == "resume":
            return ("active" if self.status == "suspended" else self.status), self.quantity
        if action == "cancel":
            return "cancelled", self.quantity
        raise Refused("validation_error", f"unknown action {action!r}", 422)

    def increases(self, pending: Pending) -> bool:
        """Whether ``pending`` adds seats to the contract (what credit is checked for)."""
        return pending.change == "created" or pending.quantity > self.quantity

    # -- the vendor's answer -----------------------------------------------------------------

    def confirm(
        self, change_id: uuid.UUID, tenant_id: str, now: datetime
    ) -> SubscriptionChanged | None:
        """Apply the confirmed change; None when it is not the one waited for (a redelivery)."""
        pending = self.pending
        if pending is None or pending.change_id != change_id:
            return None
        self.sequence += 1
        self.status = pending.status
        self.quantity = pending.quantity
        self.tenant_id = tenant_id
        self.pending = None
        self.vendor_error = None
        self.updated_at = now
        entry = Entry(
            sequence=self.sequence,
            change=pending.change,
            status=pending.status,
            quantity=pending.quantity,
            seats=seats_of(pending.status, pending.quantity),
            effective_date=pending.effective_date,
            at=now,
        )
        self.history.append(entry)
        return SubscriptionChanged(
            message_id=step_id(self.subscription_id, f"changed:{entry.sequence}"),
            correlation_id=self.subscription_id,
            occurred_at=now,
            subscription_id=self.subscription_id,
            partner_id=self.partner_id,
            external_id=self.external_id,
            sku=self.sku,
            name=self.name,
            vendor=self.vendor,
            test=self.test,
            change=entry.change,
            status=entry.status,
            quantity=entry.quantity,
            seats=entry.seats,
            monthly_price=self.monthly_price,
            vat_rate=self.vat_rate,
            effective_date=entry.effective_date,
            sequence=entry.sequence,
        )

    def refuse(self, change_id: uuid.UUID, reason: str, now: datetime) -> bool:
        """The vendor did not take the change: keep the last confirmed state, say why."""
        pending = self.pending
        if pending is None or pending.change_id != change_id:
            return False
        self.pending = None
        self.vendor_error = reason
        if pending.change == "created":
            self.status = "failed"
        self.updated_at = now
        return True

    # -- money -------------------------------------------------------------------------------

    def month_days(self, month: date, extra: Pending | None = None) -> dict[date, DayState]:
        """Each day of ``month`` with what it is billed for (``extra``: as if confirmed)."""
        entries: list[tuple[date, int]] = [(e.effective_date, e.seats) for e in self.history]
        if extra is not None:
            entries.append((extra.effective_date, seats_of(extra.status, extra.quantity)))
        return day_states(entries, self.monthly_price, month)

    def charges(self, today: date, extra: Pending | None = None) -> tuple[Decimal, Decimal]:
        """(this month up to and including today, the whole month) — 0 for test ones."""
        if self.test:
            return Decimal("0.00"), Decimal("0.00")
        days = self.month_days(today, extra)
        to_date = {d: s for d, s in days.items() if d <= today}
        return month_charge(to_date, today), month_charge(days, today)


def seats_of(status: str, quantity: int) -> int:
    """Seats billed per day: the quantity while active, nothing otherwise."""
    return quantity if status == "active" else 0


def day_states(
    entries: Sequence[tuple[date, int]], monthly_price: Decimal, month: date
) -> dict[date, DayState]:
    """For each day of ``month``: the seats of the last entry effective on or before it.

    ``entries`` are in sequence order; several on one day: the last one counts for that day.
    """
    days: dict[date, DayState] = {}
    for day in month_days(month):
        seats: int | None = None
        for effective, held in entries:
            if effective <= day:
                seats = held
        if seats:
            days[day] = DayState(seats=seats, monthly_price=monthly_price)
    return days


def projected_month(subscriptions: Iterable[Subscription], today: date) -> Decimal:
    """The month's forecast of every (non-test) subscription, each with its pending change as if
    confirmed (the vendor may well confirm it): what credit must cover."""
    return sum(
        (s.charges(today, s.pending)[1] for s in subscriptions if not s.test), Decimal("0.00")
    )


def check_credit(projected: Decimal, available: Decimal | None, blocked: bool, test: bool) -> None:
    """A new subscription or an increase is refused when blocked or beyond available credit."""
    if test:
        return
    if blocked:
        raise Refused("partner_blocked_overdue", "overdue debt blocks new subscriptions", 422)
    if available is None or projected > available:
        raise Refused(
            "credit_limit_exceeded",
            f"this month's projected charge {projected:.2f} exceeds the available credit",
            422,
        )
