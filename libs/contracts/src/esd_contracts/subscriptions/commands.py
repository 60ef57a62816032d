"""What the gateway asks of the orders service's subscription module (request/reply), and the
answers; the orders service is the one authority on a subscription's state.

Each command is answered at once with the subscription as it stands (a change the vendor has
not confirmed yet shows as ``pending_change``). Commands are idempotent in effect: a create is
keyed by the partner's ``external_id``, a redelivered message id is answered from the current
state without doing anything again, and setting what is already set changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import MessageKind, Money, Query

Action = Literal["quantity", "suspend", "resume", "cancel"]
ViewStatus = Literal["pending", "active", "suspended", "cancelled", "failed"]


class CreditView(BaseModel):
    """The partner's credit as the gateway read it from credit's ledger (``GetBalance``)."""

    model_config = ConfigDict(frozen=True)

    available: Money = Field(description="limit − debt − reserved")
    blocked: bool = Field(description="Overdue debt blocks new subscriptions and increases")


class CreateSubscription(Query):
    """Start a subscription (request/reply; a command in meaning, on ``subscriptions.commands``).

    Product and price come from the gateway's catalog replica at this partner's price, as for an
    order. ``correlation_id`` = subscription id.
    """

    CONTEXT: ClassVar[str] = "subscriptions"
    KIND: ClassVar[MessageKind] = "command"

    subscription_id: uuid.UUID = Field(description="Id for a new subscription")
    partner_id: uuid.UUID = Field(description="Subscribing partner")
    partner_live: bool = Field(description="Whether the partner has gone live (else test only)")
    external_id: str = Field(description="The partner's own reference (idempotency key)")
    sku: str = Field(description="The subscription product")
    name: str = Field(description="Product name")
    vendor: str = Field(default="", description="Product's vendor (whose API provisions it)")
    quantity: int = Field(ge=1, le=1000, description="Seats, 1..1000")
    monthly_price: Money = Field(description="This partner's price of one seat for a month")
    vat_rate: str = Field(default="exempt", description="'exempt' or a percentage")
    test: bool = Field(default=False, description="Test subscription: no credit, never charged")
    credit: CreditView | None = Field(
        default=None, description="The partner's credit now (None for test subscriptions)"
    )


class ChangeSubscription(Query):
    """Change quantity, suspend, resume or cancel, effective today (request/reply command)."""

    CONTEXT: ClassVar[str] = "subscriptions"
    KIND: ClassVar[MessageKind] = "command"

    subscription_id: uuid.UUID = Field(description="The subscription")
    partner_id: uuid.UUID = Field(description="Must own it, else not_found")
    action: Action = Field(description="What to change")
    quantity: int | None = Field(
        default=None, ge=1, le=1000, description="New seats (action 'quantity')"
    )
    credit: CreditView | None = Field(
        default=None, description="The partner's credit now (for an increase)"
    )


class GetSubscription(Query):
    """One subscription of its owner, with history and this month's charges."""

    CONTEXT: ClassVar[str] = "subscriptions"

    subscription_id: uuid.UUID = Field(description="The subscription")
    partner_id: uuid.UUID = Field(description="Must own it, else not found")


class ListSubscriptions(Query):
    """The partner's subscriptions, newest first."""

    CONTEXT: ClassVar[str] = "subscriptions"

    partner_id: uuid.UUID = Field(description="Whose subscriptions")
    limit: int = Field(default=200, ge=1, le=1000, description="At most this many")
    external_id: str | None = Field(
        default=None, description="Only the one with this external id of the partner's"
    )


class HistoryEntry(BaseModel):
    """One confirmed change (the same facts as its ``SubscriptionChanged``)."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(description="Order of the change, from 1")
    change: str = Field(description="created, quantity_changed, suspended, resumed, cancelled")
    status: str = Field(description="Status from effective_date on")
    quantity: int = Field(description="Seats contracted")
    seats: int = Field(description="Seats billed per day")
    effective_date: date = Field(description="Moscow day it took effect")
    at: datetime = Field(description="When the vendor confirmed it")


class PendingChange(BaseModel):
    """A change sent to the vendor and not confirmed yet."""

    model_config = ConfigDict(frozen=True)

    change_id: uuid.UUID = Field(description="Idempotency key of the vendor call")
    change: str = Field(description="What is being changed")
    status: str = Field(description="Status once confirmed")
    quantity: int = Field(description="Seats once confirmed")
    effective_date: date = Field(description="Day it takes effect once confirmed")
    requested_at: datetime = Field(description="When it was asked")


class Charges(BaseModel):
    """This month's charge of the subscription, from the one proration formula."""

    model_config = ConfigDict(frozen=True)

    month: str = Field(description="YYYY-MM (Moscow)")
    as_of: date = Field(description="Today (Moscow)")
    to_date: Money = Field(description="Days of this month up to and including today")
    forecast: Money = Field(description="Whole month, today's state kept to month end")


class SubscriptionView(BaseModel):
    """A subscription as its owner sees it."""

    model_config = ConfigDict(frozen=True)

    subscription_id: uuid.UUID
    partner_id: uuid.UUID
    external_id: str
    sku: str
    name: str
    vendor: str
    test: bool
    status: ViewStatus = Field(description="Last confirmed status ('failed': never provisioned)")
    quantity: int = Field(description="Last confirmed seats")
    monthly_price: Money
    vat_rate: str
    tenant_id: str | None = Field(description="The vendor's tenant/licence id")
    pending_change: PendingChange | None = Field(description="Sent to the vendor, unconfirmed")
    vendor_error: str | None = Field(description="Why the vendor refused the last change")
    created_at: datetime
    updated_at: datetime
    history: tuple[HistoryEntry, ...] = Field(description="Confirmed changes, in order")
    charges: Charges


class SubscriptionAnswer(BaseModel):
    """Answer to every subscription command and to :class:`GetSubscription`.

    ``code`` is a stable error code when refused (``not_found``, ``idempotency_conflict``,
    ``not_resumable``, ``invalid_state``, ``change_pending``, ``credit_limit_exceeded``,
    ``partner_blocked_overdue``, ``partner_not_live``); then nothing changed.
    """

    model_config = ConfigDict(frozen=True)

    code: str | None = Field(default=None, description="Refusal code; None when done")
    detail: str = Field(default="", description="Human-readable refusal")
    created: bool = Field(default=False, description="This create made it (False on replay)")
    subscription: SubscriptionView | None = Field(default=None)


class SubscriptionList(BaseModel):
    """Answer to :class:`ListSubscriptions`."""

    model_config = ConfigDict(frozen=True)

    items: tuple[SubscriptionView, ...]
