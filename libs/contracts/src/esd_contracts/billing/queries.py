"""Queries the billing service answers."""

from __future__ import annotations

import datetime as dt
import uuid
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
    vat_basis: str | None = Field(
        default=None,
        description="Why an exempt line bears no VAT, e.g. 'НК РФ ст. 149 п. 2 пп. 26'",
    )


class VatTotal(BaseModel):
    """A document's lines at one VAT rate, summed."""

    model_config = ConfigDict(frozen=True)

    rate: str = Field(description="'exempt' or a percentage, e.g. '22'")
    amount: Money = Field(description="Sum of the lines at this rate, VAT included")
    vat_amount: Money = Field(description="Sum of the lines' VAT (each rounded per line)")
    amount_without_vat: Money = Field(description="amount - vat_amount")


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
    vat_totals: tuple[VatTotal, ...] = Field(default=(), description="Totals per VAT rate")
    closed: bool = Field(
        default=False, description="The day is over: the document is final and immutable"
    )
    supplement_to: str | None = Field(
        default=None,
        description="For a line that arrived after its day closed: the closed document of the "
        "same day that this supplementary document completes",
    )
    edo_status: str | None = Field(
        default=None, description="EDO delivery: None (not sent), 'sent', 'delivered', 'rejected'"
    )


class Documents(BaseModel):
    """Answer to :class:`GetDocuments`."""

    model_config = ConfigDict(frozen=True)

    documents: tuple[Document, ...]


class GetDocumentUpd(Query):
    """The UPD XML (FNS format 5.03, ON_NSCHFDOPPR) of one of the partner's documents."""

    CONTEXT: ClassVar[str] = "billing"

    partner_id: uuid.UUID = Field(description="Owner of the document")
    number: str = Field(description="Document number, e.g. 'ESD-2026-000123'")


class DocumentUpd(BaseModel):
    """Answer to :class:`GetDocumentUpd`; ``found`` is false for another partner's document."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False: no such document of this partner (answer 404)")
    file_name: str | None = Field(default=None, description="'ON_NSCHFDOPPR_….xml'")
    xml: str | None = Field(
        default=None,
        description="The XML text; its declaration says windows-1251, so serve or store "
        "xml.encode('cp1251') with Content-Type application/xml; charset=windows-1251",
    )


class GetDocumentPdf(Query):
    """The printable PDF form of one of the partner's documents."""

    CONTEXT: ClassVar[str] = "billing"

    partner_id: uuid.UUID = Field(description="Owner of the document")
    number: str = Field(description="Document number")


class DocumentPdf(BaseModel):
    """Answer to :class:`GetDocumentPdf`; ``found`` is false for another partner's document."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False: no such document of this partner (answer 404)")
    file_name: str | None = Field(default=None, description="'ESD-2026-000123.pdf'")
    content_base64: str | None = Field(default=None, description="The PDF, base64-encoded")


class GetEdoStatus(Query):
    """Ops: the EDO state of documents (closed ones are sent; open ones wait for their day's
    end), newest first, optionally only one status, one partner or one date range."""

    CONTEXT: ClassVar[str] = "billing"

    edo_status: str | None = Field(
        default=None,
        description="'unsent' (closed, not yet handed over), 'sent', 'delivered' or 'rejected'",
    )
    partner_id: uuid.UUID | None = Field(default=None, description="Only this partner's")
    date_from: dt.date | None = Field(default=None, description="First document date, inclusive")
    date_to: dt.date | None = Field(default=None, description="Last document date, inclusive")
    number: str | None = Field(default=None, description="One document by number")
    limit: int = Field(default=200, ge=1, le=1000, description="At most this many")


class EdoDocument(BaseModel):
    """One document's EDO state."""

    model_config = ConfigDict(frozen=True)

    number: str
    partner_id: uuid.UUID
    date: dt.date
    closed: bool = Field(description="Only closed documents go to EDO")
    edo_status: str | None = Field(description="None (not sent), 'sent', 'delivered', 'rejected'")
    edo_file: str | None = Field(default=None, description="The UPD file handed to the operator")
    edo_message: str | None = Field(default=None, description="The operator's reason, if any")
    edo_updated_at: dt.datetime | None = Field(default=None, description="Last status change")
    edo_free: bool = Field(
        default=False, description="EDO free of charge: the buyer is an official partner"
    )


class EdoStatus(BaseModel):
    """Answer to :class:`GetEdoStatus`."""

    model_config = ConfigDict(frozen=True)

    documents: tuple[EdoDocument, ...]
