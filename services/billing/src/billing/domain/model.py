"""A shipping document as its readers see it: parties, lines, VAT and totals. Pure data."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from billing.domain.documents import document_status
from billing.domain.vat import EXEMPT, EXEMPT_BASIS, EXEMPT_LABEL, RateTotal, totals_by_rate

EDO_FREE = "бесплатно (официальный партнёр)"
EDO_PAID = "по тарифу оператора ЭДО"


@dataclass(frozen=True)
class Party:
    """Seller or buyer as the UPD names them."""

    name: str
    inn: str
    kpp: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Line:
    position: int
    order_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    created_at: dt.datetime

    @property
    def exempt(self) -> bool:
        return self.vat_rate == EXEMPT

    @property
    def vat_label(self) -> str:
        return EXEMPT_LABEL if self.exempt else f"{self.vat_rate}%"

    @property
    def vat_basis(self) -> str | None:
        return EXEMPT_BASIS if self.exempt else None

    @property
    def amount_without_vat(self) -> Decimal:
        return self.amount - self.vat_amount


@dataclass(frozen=True)
class Snapshot:
    """One document with everything printed on it."""

    id: int
    number: str
    partner_id: uuid.UUID
    date: dt.date
    due_date: dt.date
    amount: Decimal
    vat_amount: Decimal
    paid_amount: Decimal
    supplement_to: str | None
    edo_status: str | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
    line_count: int
    lines: tuple[Line, ...] = ()
    buyer: Party | None = None
    reseller_id: str | None = None
    registered_at: dt.datetime | None = None
    official: bool = False
    """The buyer is an official partner: EDO is free of charge for it (printed on the UPD)."""

    @property
    def edo_tariff(self) -> str:
        """How the document's EDO transmission is charged: free for official partners."""
        return EDO_FREE if self.official else EDO_PAID

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def status(self, today: dt.date) -> str:
        return document_status(self.amount, self.paid_amount, self.due_date, today)

    @property
    def vat_totals(self) -> tuple[RateTotal, ...]:
        return totals_by_rate((line.vat_rate, line.amount, line.vat_amount) for line in self.lines)

    @property
    def all_exempt(self) -> bool:
        return all(line.exempt for line in self.lines)

    @property
    def amount_without_vat(self) -> Decimal:
        return self.amount - self.vat_amount
