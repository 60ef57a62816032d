"""HTTP schemas of subscriptions (the spec's resource), JSON and XML alike."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from esd_contracts.subscriptions.commands import SubscriptionView

from gateway.http.schemas import MoneyStr


class SubscriptionCreate(msgspec.Struct, kw_only=True):
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    quantity: Annotated[int, msgspec.Meta(description="Seats, an integer in 1..1000")]
    test: bool = False


class SubscriptionPatch(msgspec.Struct, kw_only=True):
    quantity: Annotated[int, msgspec.Meta(description="Seats from today, an integer in 1..1000")]


class SubscriptionChangeRead(msgspec.Struct):
    sequence: int
    change: str
    status: str
    quantity: int
    seats: int
    effective_date: date
    at: datetime


class PendingChangeRead(msgspec.Struct):
    change: str
    status: str
    quantity: int
    effective_date: date
    requested_at: datetime


class ChargesRead(msgspec.Struct):
    month: str
    as_of: date
    to_date: MoneyStr
    forecast: MoneyStr


class SubscriptionRead(msgspec.Struct):
    id: uuid.UUID
    external_id: str
    sku: str
    name: str
    test: bool
    status: str
    quantity: int
    monthly_price: MoneyStr
    vat_rate: str
    vendor_tenant_id: str | None
    pending_change: PendingChangeRead | None
    vendor_error: str | None
    created_at: datetime
    updated_at: datetime
    charges: ChargesRead
    history: list[SubscriptionChangeRead]


class SubscriptionList(msgspec.Struct):
    items: list[SubscriptionRead]


def subscription_read(view: SubscriptionView) -> SubscriptionRead:
    pending = view.pending_change
    return SubscriptionRead(
        id=view.subscription_id,
        external_id=view.external_id,
        sku=view.sku,
        name=view.name,
        test=view.test,
        status=view.status,
        quantity=view.quantity,
        monthly_price=f"{view.monthly_price:.2f}",
        vat_rate=view.vat_rate,
        vendor_tenant_id=view.tenant_id,
        pending_change=None
        if pending is None
        else PendingChangeRead(
            change=pending.change,
            status=pending.status,
            quantity=pending.quantity,
            effective_date=pending.effective_date,
            requested_at=pending.requested_at,
        ),
        vendor_error=view.vendor_error,
        created_at=view.created_at,
        updated_at=view.updated_at,
        charges=ChargesRead(
            month=view.charges.month,
            as_of=view.charges.as_of,
            to_date=f"{view.charges.to_date:.2f}",
            forecast=f"{view.charges.forecast:.2f}",
        ),
        history=[
            SubscriptionChangeRead(
                sequence=e.sequence,
                change=e.change,
                status=e.status,
                quantity=e.quantity,
                seats=e.seats,
                effective_date=e.effective_date,
                at=e.at,
            )
            for e in view.history
        ],
    )
