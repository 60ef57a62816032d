"""The order saga: a pure state machine from acceptance to completion, refusal or failure.

Each transition takes one reply and returns the commands and events to send next; the handler
persists the new state and stages those messages in the same transaction. Every message id is
derived from the order id and the step (``{order_id}:reserve-credit``), so a saga step replayed
for any reason sends the very same message, which the receiver's inbox drops.

    ACCEPTED ──CreditReserved──▶ CREDIT_RESERVED ──KeysIssued──▶ KEYS_ISSUED
       │                              │                              │CreditCaptured
       │CreditRefused                 │KeysFailed                    ▼
       ▼                              ▼                      BILLED, then COMPLETED
    REJECTED                  RELEASING_CREDIT
                                      │CreditReleased
                                      ▼
                                    FAILED (REJECTED when the reason is out_of_stock)

From KEYS_ISSUED the saga sends ``RecordShipment`` to billing, which puts the line on the day's
document and announces ``ShipmentRecorded``; credit captures the reservation on that document
when it hears it, and answers ``CreditCaptured`` with the document's number. So one reply tells
the saga both that the order is billed and that its debt is recorded: it passes BILLED and
completes in one transition, and the history keeps a line for each (``passed``). Asking credit
for the capture with a command of its own cost a message and a saga transaction per order, 12%
of an order's CPU (bench/RESULTS.md).

Test orders skip credit and billing: ACCEPTED ──KeysIssued──▶ COMPLETED.
A cancel is honoured only in ACCEPTED before key generation was requested; a reservation that
arrives after it is released.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from esd_contracts.billing.commands import RecordShipment
from esd_contracts.credit.commands import ReleaseCredit, ReserveCredit
from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
)
from esd_contracts.envelope import Message
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.keys.events import KeysFailed, KeysIssued
from esd_contracts.orders.commands import CancelOrder, PlaceOrder
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderFailed,
    OrderRejected,
)


def _kopecks(amount: Decimal) -> Decimal:
    """Money as the saga's row keeps it (numeric(14, 2), halves away from zero), so a saga held
    in memory and one read back are the same."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


_STEP_NAMESPACE = uuid.UUID("6f1c1d2e-4b7a-4c55-9a51-2f8e0c9a7d10")


class State(StrEnum):
    ACCEPTED = "accepted"
    CREDIT_RESERVED = "credit_reserved"
    KEYS_ISSUED = "keys_issued"
    BILLED = "billed"
    COMPLETED = "completed"
    REJECTED = "rejected"
    RELEASING_CREDIT = "releasing_credit"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL = frozenset({State.COMPLETED, State.REJECTED, State.FAILED, State.CANCELLED})


class IllegalTransition(Exception):
    """A reply that cannot happen in this state: a bug or a forged message, never retried."""


def step_id(order_id: uuid.UUID, step: str) -> uuid.UUID:
    """Deterministic message id of one saga step (an idempotency key from the business id)."""
    return uuid.uuid5(_STEP_NAMESPACE, f"{order_id}:{step}")


OUT_OF_STOCK = "out_of_stock"
"""KeysFailed reason that means 'refused before any key existed': the order ends rejected."""


@dataclass
class OrderSaga:
    """One order's progress. ``version`` counts persisted transitions."""

    order_id: uuid.UUID
    partner_id: uuid.UUID
    external_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    test: bool
    key_source: str
    fields: dict[str, str]
    state: State = State.ACCEPTED
    reason: str | None = None
    document_number: str | None = None
    key_count: int = 0
    completed_at: datetime | None = None
    version: int = 0
    vendor: str = ""
    sealed_keys: str | None = None
    """The keys sealed for the gateway by the keys service; carried, never opened, here."""
    cancel_requested: bool = False
    passed: list[State] = field(default_factory=list, repr=False, compare=False)
    """States the last transition went through on its way to ``state`` (BILLED on the way to
    COMPLETED), for the history; not persisted."""
    _now: datetime | None = field(default=None, repr=False, compare=False)

    # -- start --------------------------------------------------------------------------------

    @classmethod
    def accept(cls, cmd: PlaceOrder, now: datetime) -> tuple[OrderSaga, list[Message]]:
        """Start the saga for an accepted order and say what to do first."""
        saga = cls(
            order_id=cmd.order_id,
            partner_id=cmd.partner_id,
            external_id=cmd.external_id,
            sku=cmd.sku,
            name=cmd.name,
            quantity=cmd.quantity,
            unit_price=_kopecks(cmd.unit_price),
            amount=_kopecks(cmd.amount),
            vat_rate=cmd.vat_rate,
            vat_amount=_kopecks(cmd.vat_amount),
            test=cmd.test,
            key_source=cmd.key_source,
            fields=dict(cmd.fields),
            vendor=cmd.vendor,
        )
        saga._now = now
        if cmd.test:
            return saga, [saga._issue_keys()]
        if not cmd.partner_live:
            return saga, saga._reject("partner_not_live")
        return saga, [
            ReserveCredit(
                **saga._meta("reserve-credit"),
                order_id=saga.order_id,
                partner_id=saga.partner_id,
                amount=saga.amount,
            )
        ]

    # -- replies ------------------------------------------------------------------------------

    def handle(self, message: Message, now: datetime) -> list[Message]:
        """Apply one reply; return what to send. Stale repeats are no-ops; the impossible raises."""
        self._now = now
        self.passed = []
        key = (self.state, type(message))
        if key in _STALE:
            return []
        # in ACCEPTED a test order waits for keys, a real one for credit: the other is forged
        replies_in_accepted = (KeysIssued, KeysFailed, CreditReserved, CreditRefused)
        if (
            self.state is State.ACCEPTED
            and isinstance(message, replies_in_accepted)
            and isinstance(message, (KeysIssued, KeysFailed)) is not self.test
        ):
            raise IllegalTransition(f"{type(message).__name__} in state {self.state}")
        transition = _TRANSITIONS.get(key)
        if transition is None:
            raise IllegalTransition(f"{type(message).__name__} in state {self.state}")
        return transition(self, message)

    def _on_credit_reserved(self, _: CreditReserved) -> list[Message]:
        self.state = State.CREDIT_RESERVED
        return [self._issue_keys()]

    def _on_credit_refused(self, event: CreditRefused) -> list[Message]:
        return self._reject(event.reason)

    def _on_keys_issued(self, event: KeysIssued) -> list[Message]:
        self.key_count = len(event.key_ids)
        self.sealed_keys = event.sealed_keys
        if self.test:
            return self._complete()
        self.state = State.KEYS_ISSUED
        return [
            RecordShipment(
                **self._meta("record-shipment"),
                order_id=self.order_id,
                partner_id=self.partner_id,
                sku=self.sku,
                name=self.name,
                quantity=self.quantity,
                unit_price=self.unit_price,
                amount=self.amount,
                vat_rate=self.vat_rate,
                vat_amount=self.vat_amount,
                shipped_at=self.now,
            )
        ]

    def _on_keys_failed(self, event: KeysFailed) -> list[Message]:
        self.reason = event.reason
        if self.test:
            if event.reason == OUT_OF_STOCK:
                return self._reject(event.reason)
            self.state = State.FAILED
            return [self._failed_event()]
        self.state = State.RELEASING_CREDIT
        return [self._release_credit()]

    def _on_captured_on_document(self, event: CreditCaptured) -> list[Message]:
        """Billing recorded the line and credit captured the reservation on its document."""
        self.document_number = event.document_number
        self.passed.append(State.BILLED)
        return self._complete()

    def _on_credit_captured(self, _: CreditCaptured) -> list[Message]:
        """A saga left in BILLED by the version that commanded the capture itself."""
        return self._complete()

    def _on_credit_released(self, _: CreditReleased) -> list[Message]:
        if self.reason == OUT_OF_STOCK:
            # too few keys: refused before any key was taken, so a rejection, not a failure
            return self._reject(OUT_OF_STOCK)
        self.state = State.FAILED
        return [self._failed_event()]

    def _on_cancel(self, cmd: CancelOrder) -> list[Message]:
        if self.state is State.ACCEPTED and not self.test:
            # Credit may be reserved in this very moment: a reservation that arrives in
            # CANCELLED is released (see _on_late_reservation). No key was requested yet.
            self.state = State.CANCELLED
            self.reason = "cancelled"
            return [
                OrderCancelled(
                    **self._meta("cancelled"), order_id=self.order_id, partner_id=self.partner_id
                )
            ]
        return [
            CancellationRefused(
                **self._meta(f"cancel-refused:{cmd.message_id}"),
                order_id=self.order_id,
                partner_id=self.partner_id,
            )
        ]

    def _on_late_reservation(self, _: CreditReserved) -> list[Message]:
        return [self._release_credit()]

    # -- helpers ------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        if self._now is None:
            raise RuntimeError("the saga needs the service clock's time for a transition")
        return self._now

    def _meta(self, step: str) -> dict[str, Any]:
        return {
            "message_id": step_id(self.order_id, step),
            "correlation_id": self.order_id,
            "occurred_at": self.now,
        }

    def _issue_keys(self) -> IssueKeys:
        return IssueKeys(
            **self._meta("issue-keys"),
            order_id=self.order_id,
            partner_id=self.partner_id,
            sku=self.sku,
            quantity=self.quantity,
            test=self.test,
            key_source=self.key_source,
            fields=self.fields,
            vendor=self.vendor,
        )

    def _release_credit(self) -> ReleaseCredit:
        return ReleaseCredit(
            **self._meta("release-credit"), order_id=self.order_id, partner_id=self.partner_id
        )

    def _reject(self, reason: str) -> list[Message]:
        self.state = State.REJECTED
        self.reason = reason
        return [
            OrderRejected(
                **self._meta("rejected"),
                order_id=self.order_id,
                partner_id=self.partner_id,
                reason=reason,
            )
        ]

    def _failed_event(self) -> OrderFailed:
        return OrderFailed(
            **self._meta("failed"),
            order_id=self.order_id,
            partner_id=self.partner_id,
            reason=self.reason or "vendor_unavailable",
        )

    def _complete(self) -> list[Message]:
        self.state = State.COMPLETED
        self.completed_at = self.now
        return [
            OrderCompleted(
                **self._meta("completed"),
                order_id=self.order_id,
                partner_id=self.partner_id,
                amount=Decimal("0.00") if self.test else self.amount,
                key_count=self.key_count,
                document_number=self.document_number,
                completed_at=self.now,
                sealed_keys=self.sealed_keys,
            )
        ]


Transition = Callable[[OrderSaga, Any], list[Message]]

_TRANSITIONS: dict[tuple[State, type[Message]], Transition] = {
    (State.ACCEPTED, CreditReserved): OrderSaga._on_credit_reserved,
    (State.ACCEPTED, CreditRefused): OrderSaga._on_credit_refused,
    (State.ACCEPTED, KeysIssued): OrderSaga._on_keys_issued,  # test orders only (guarded below)
    (State.ACCEPTED, KeysFailed): OrderSaga._on_keys_failed,  # test orders only (guarded below)
    (State.CREDIT_RESERVED, KeysIssued): OrderSaga._on_keys_issued,
    (State.CREDIT_RESERVED, KeysFailed): OrderSaga._on_keys_failed,
    (State.KEYS_ISSUED, CreditCaptured): OrderSaga._on_captured_on_document,
    (State.BILLED, CreditCaptured): OrderSaga._on_credit_captured,
    (State.RELEASING_CREDIT, CreditReleased): OrderSaga._on_credit_released,
    (State.CANCELLED, CreditReserved): OrderSaga._on_late_reservation,
}
for _state in State:
    _TRANSITIONS[(_state, CancelOrder)] = OrderSaga._on_cancel

_STALE: frozenset[tuple[State, type[Message]]] = frozenset(
    {
        # a second reply to a step already taken (e.g. a re-sent command answered again)
        (State.CREDIT_RESERVED, CreditReserved),
        (State.KEYS_ISSUED, CreditReserved),
        (State.KEYS_ISSUED, KeysIssued),
        (State.BILLED, CreditReserved),
        (State.BILLED, KeysIssued),
        (State.COMPLETED, CreditReserved),
        (State.COMPLETED, KeysIssued),
        (State.COMPLETED, CreditCaptured),
        (State.REJECTED, CreditRefused),
        # out_of_stock: rejected after the reservation was released
        (State.REJECTED, KeysFailed),
        (State.REJECTED, CreditReleased),
        (State.REJECTED, CreditReserved),
        (State.RELEASING_CREDIT, KeysFailed),
        (State.RELEASING_CREDIT, CreditReserved),
        (State.FAILED, KeysFailed),
        (State.FAILED, CreditReleased),
        (State.FAILED, CreditReserved),
        # after a cancel: whatever the reservation did, nothing more is owed
        (State.CANCELLED, CreditRefused),
        (State.CANCELLED, CreditReleased),
        (State.CANCELLED, CancelOrder),
    }
)

REPLIES: tuple[type[Message], ...] = (
    CreditReserved,
    CreditRefused,
    KeysIssued,
    KeysFailed,
    CreditCaptured,
    CreditReleased,
    CancelOrder,
)
"""Every message the saga reacts to after acceptance (consumers are registered for each)."""
