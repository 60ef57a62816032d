"""Events of a subscription's lifecycle, published by the orders service's subscription module."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from esd_contracts.envelope import Event, Money

SubscriptionStatus = Literal["pending", "active", "suspended", "cancelled"]
SubscriptionChange = Literal["created", "quantity_changed", "suspended", "resumed", "cancelled"]


class SubscriptionChanged(Event):
    """A subscription's confirmed state from ``effective_date`` on (Moscow calendar day).

    Published once per confirmed change, in ``sequence`` order per subscription; billing keeps,
    for each day, the state of the highest ``sequence`` effective that day (several changes in one
    day: the last one counts for the day). ``seats`` is what the day is billed for: the quantity
    while active, 0 while suspended or cancelled. ``correlation_id`` = subscription id.
    """

    CONTEXT: ClassVar[str] = "subscriptions"

    subscription_id: uuid.UUID = Field(description="The subscription")
    partner_id: uuid.UUID = Field(description="The subscribing partner")
    external_id: str = Field(description="The partner's own reference of the subscription")
    sku: str = Field(description="The subscription product")
    name: str = Field(default="", description="Product name, for document lines")
    vendor: str = Field(default="", description="Product's vendor")
    test: bool = Field(default=False, description="Test subscription: never charged")
    change: SubscriptionChange = Field(description="What happened")
    status: SubscriptionStatus = Field(description="Status from effective_date on")
    quantity: int = Field(ge=0, description="Seats contracted")
    seats: int = Field(ge=0, description="Seats billed per day from effective_date on")
    monthly_price: Money = Field(description="This partner's price of one seat for a whole month")
    vat_rate: str = Field(default="exempt", description="'exempt' or a percentage, e.g. '22'")
    effective_date: date = Field(description="Moscow calendar day the change takes effect")
    sequence: int = Field(ge=1, description="Per-subscription order of changes, from 1")
