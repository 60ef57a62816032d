"""Commands the billing service accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Command, MessageKind, Money, Query


class RecordShipment(Command):
    """Add a completed order's line to the partner's document of that calendar day (Moscow)."""

    CONTEXT: ClassVar[str] = "billing"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="The buyer")
    sku: str = Field(description="Product")
    name: str = Field(description="Product name")
    quantity: int = Field(description="Units")
    unit_price: Money = Field(description="Unit price")
    amount: Money = Field(description="Line amount, VAT included")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")
    shipped_at: datetime = Field(description="When the keys were issued; picks the day")


class ReplayFinanceEvents(Query):
    """Ops asks billing to re-emit the finance events of documents dated in [date_from, date_to]
    (``POST /api/v1/admin/finance/replay``), for a downstream system that lost data.

    A command in meaning (``billing.commands``), sent with ``broker.request``. The events go out
    again with the same ``message_id`` as the first time, so a consumer that has them drops them.
    ``correlation_id`` is a fresh id per request.
    """

    CONTEXT: ClassVar[str] = "billing"
    KIND: ClassVar[MessageKind] = "command"

    date_from: date = Field(description="First document date, inclusive")
    date_to: date = Field(description="Last document date, inclusive")
    number: str | None = Field(
        default=None,
        description="Only this document (its lines and, if closed, its DocumentClosed); the "
        "dates still bound the search",
    )
    partner_id: uuid.UUID | None = Field(default=None, description="Only this partner's documents")


class FinanceEventsReplayed(BaseModel):
    """Answer to :class:`ReplayFinanceEvents`."""

    model_config = ConfigDict(frozen=True)

    date_from: date = Field(description="First document date, inclusive")
    date_to: date = Field(description="Last document date, inclusive")
    lines: int = Field(description="DocumentLineAdded events re-emitted")
    closed: int = Field(description="DocumentClosed events re-emitted")
    charges: int = Field(default=0, description="SubscriptionCharged events re-emitted")


class ResendDocument(Query):
    """Ops asks billing to hand a closed document to the EDO operator again (after a rejection
    the buyer's details were fixed, or the operator lost it): its EDO status is cleared and the
    next clockwork pass sends the same file (same name, same bytes).

    A command in meaning (``billing.commands``), sent with ``broker.request``.
    """

    CONTEXT: ClassVar[str] = "billing"
    KIND: ClassVar[MessageKind] = "command"

    number: str = Field(description="Document number, e.g. 'ESD-2026-000123'")


class DocumentResent(BaseModel):
    """Answer to :class:`ResendDocument`."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False: no such document (answer 404)")
    queued: bool = Field(
        default=False, description="True: its EDO status is cleared and it goes out next pass"
    )
    reason: str | None = Field(
        default=None, description="Why not: 'document_not_closed' (an open day cannot be sent)"
    )
    previous_status: str | None = Field(
        default=None, description="The EDO status it had: None, 'sent', 'delivered', 'rejected'"
    )
