"""Provisioning a subscription at its vendor: orders asks the keys service (which owns the
vendor adapters), keys answers with the vendor's confirmation or its refusal.

Every call carries a ``change_id`` that is the vendor call's idempotency key, so a redelivered
command makes the vendor answer the same, and orders applies a confirmation only to the change
it is waiting for. ``correlation_id`` = subscription id.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from esd_contracts.envelope import Command, Event

VendorStatus = Literal["active", "suspended", "cancelled"]


class ProvisionSubscription(Command):
    """Create the subscription at its vendor with ``quantity`` seats."""

    CONTEXT: ClassVar[str] = "keys"

    subscription_id: uuid.UUID = Field(description="The subscription")
    change_id: uuid.UUID = Field(description="Idempotency key of this vendor call")
    partner_id: uuid.UUID = Field(description="Subscribing partner")
    sku: str = Field(description="The subscription product")
    vendor: str = Field(default="", description="Whose API")
    quantity: int = Field(ge=1, le=1000, description="Seats")
    test: bool = Field(default=False, description="Test: a TEST- tenant, no vendor call")


class UpdateVendorSubscription(Command):
    """Push a change (seats, suspended, resumed, cancelled) to the vendor's tenant."""

    CONTEXT: ClassVar[str] = "keys"

    subscription_id: uuid.UUID = Field(description="The subscription")
    change_id: uuid.UUID = Field(description="Idempotency key of this vendor call")
    partner_id: uuid.UUID = Field(description="Subscribing partner")
    sku: str = Field(description="The subscription product")
    vendor: str = Field(default="", description="Whose API")
    tenant_id: str = Field(description="The vendor's tenant/licence id")
    quantity: int = Field(ge=1, le=1000, description="Seats contracted")
    status: VendorStatus = Field(description="State the vendor must hold")
    test: bool = Field(default=False, description="Test: confirmed without a vendor call")


class SubscriptionProvisioned(Event):
    """The vendor holds the state of change ``change_id`` (created or updated)."""

    CONTEXT: ClassVar[str] = "keys"

    subscription_id: uuid.UUID = Field(description="The subscription")
    change_id: uuid.UUID = Field(description="The change confirmed")
    tenant_id: str = Field(description="The vendor's tenant/licence id")


class VendorSubscriptionFailed(Event):
    """The vendor did not take change ``change_id``; the subscription stays as it was."""

    CONTEXT: ClassVar[str] = "keys"

    subscription_id: uuid.UUID = Field(description="The subscription")
    change_id: uuid.UUID = Field(description="The change refused")
    reason: str = Field(description="'vendor_unavailable' or 'vendor_refused'")
