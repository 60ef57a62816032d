"""Queries the billing service answers."""

from __future__ import annotations

import uuid
import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Money, Query


class GetDocuments(Query):
    """A partner's documents with dates in [date_from, date_to], or one by ``number``."""

    CONTEXT: ClassVar[str] = "billing"

    partner_id: uuid.UUID = Field(description="Owner of the documents")
    date_from: dt.date | None = Field(default=None, description="First day, inclusive")
    date_to: dt.date | None = Field(default=None, description="Last day, inclusive")
    number: str | None = Field(default=None, description="One document by number")


class DocumentLine(BaseModel):
    """One order on a document."""

    model_config = ConfigDict(frozen=True)

    order_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price: Money
    amount: Money
    vat_rate: str
    vat_amount: Money


class Document(BaseModel):
    """The spec's document resource."""

    model_config = ConfigDict(frozen=True)

    number: str
    date: dt.date
    lines: tuple[DocumentLine, ...]
    amount: Money
    vat_amount: Money
    due_date: dt.date
    paid_amount: Money
    status: str = Field(description="'open', 'paid' or 'overdue'")


class Documents(BaseModel):
    """Answer to :class:`GetDocuments`."""

    model_config = ConfigDict(frozen=True)

    documents: tuple[Document, ...]
