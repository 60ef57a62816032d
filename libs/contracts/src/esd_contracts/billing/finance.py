"""The finance feed: events billing publishes for downstream ledgers on ``finance.events``.

Every event's ``message_id`` is derived from the business fact (the order's line, the closed
document), never random: the first emission and any replay carry the same id, so a ledger
dedupes by ``message_id`` alone. ``occurred_at`` is the fact's own time, equally stable.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import Field

from esd_contracts.billing.queries import VatTotal
from esd_contracts.envelope import Event, Money

FINANCE_NAMESPACE = uuid.UUID("6f1d3c3e-0b7e-5b8e-9a51-8f3f0c2f6e11")
"""uuid5 namespace of finance event ids."""


def line_added_id(order_id: uuid.UUID) -> uuid.UUID:
    """The stable id of the DocumentLineAdded of an order's line."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"DocumentLineAdded:{order_id}")


def document_closed_id(number: str) -> uuid.UUID:
    """The stable id of the DocumentClosed of a document."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"DocumentClosed:{number}")


class DocumentLineAdded(Event):
    """A line was added to a shipping document: the partner owes ``amount`` more.

    ``correlation_id`` = order id; ``message_id`` = :func:`line_added_id` of the order.
    """

    CONTEXT: ClassVar[str] = "finance"

    partner_id: uuid.UUID = Field(description="The buyer")
    document_number: str = Field(description="e.g. 'ESD-2026-000123'")
    document_date: date = Field(description="Calendar day of the document (Moscow)")
    position: int = Field(description="Line number on the document, from 1")
    order_id: uuid.UUID = Field(description="The order")
    sku: str = Field(description="Product")
    quantity: int = Field(description="Units")
    amount: Money = Field(description="Line amount, VAT included")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")


class DocumentClosed(Event):
    """A document's day is over: its lines and totals are final.

    ``correlation_id`` = partner id; ``message_id`` = :func:`document_closed_id` of the number.
    """

    CONTEXT: ClassVar[str] = "finance"

    partner_id: uuid.UUID = Field(description="The buyer")
    document_number: str = Field(description="e.g. 'ESD-2026-000123'")
    document_date: date = Field(description="Calendar day of the document (Moscow)")
    due_date: date = Field(description="Payment due date")
    line_count: int = Field(description="Lines on the document")
    amount: Money = Field(description="Document total, VAT included (sum of the lines)")
    vat_amount: Money = Field(description="Sum of the lines' VAT")
    vat_totals: tuple[VatTotal, ...] = Field(default=(), description="Totals per VAT rate")
    supplement_to: str | None = Field(
        default=None, description="The closed document of the same day this one supplements"
    )
