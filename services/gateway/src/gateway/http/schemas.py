"""HTTP request and response bodies (msgspec), separate from the message contracts.

Money is a two-place decimal string, times are ISO 8601 with offset.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
MoneyStr = Annotated[str, msgspec.Meta(description="RUB, decimal string with two places")]

# -- onboarding ---------------------------------------------------------------------------------


class ApplicationCreate(msgspec.Struct, kw_only=True):
    company_name: NonEmpty
    inn: Annotated[str, msgspec.Meta(description="ИНН, 10 or 12 digits with valid control digits")]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    region: NonEmpty
    kpp: Annotated[str, msgspec.Meta(pattern=r"^\d{9}$")] | None = None
    distributor_reseller_id: str | None = None


class ApplicationCreated(msgspec.Struct):
    application_id: uuid.UUID
    status: str


class ApplicationRead(msgspec.Struct):
    application_id: uuid.UUID
    company_name: str
    inn: str
    kpp: str | None
    email: str
    region: str
    distributor_reseller_id: str | None
    status: str
    reason: str | None
    partner_id: uuid.UUID | None
    created_at: datetime
    decided_at: datetime | None


class ApplicationList(msgspec.Struct):
    items: list[ApplicationRead]


class Rejection(msgspec.Struct):
    reason: NonEmpty


class Approval(msgspec.Struct):
    partner_id: uuid.UUID
    reseller_id: str
    api_key: str
    webhook_secret: str
    key_id: uuid.UUID


class CreditTermsUpdate(msgspec.Struct):
    limit: Annotated[Decimal, msgspec.Meta(description='Credit limit, RUB, e.g. "60000.00"')]
    term_days: Annotated[int, msgspec.Meta(ge=0, le=365)]


class PartnerRead(msgspec.Struct):
    partner_id: uuid.UUID
    reseller_id: str
    company_name: str
    inn: str
    kpp: str | None
    email: str
    region: str
    live: bool
    credit_limit: MoneyStr
    term_days: int
    contract_signed: bool = False
    contract_number: str | None = None
    contract_date: dt.date | None = None
    rate_limit_per_minute: int | None = None
    """The partner's own request budget; None = the gateway's default."""
    official: bool = False
    """An official (authorised) partner of the distributor, set at approval (EDO free)."""


class ApiKeyIssued(msgspec.Struct):
    key_id: uuid.UUID
    api_key: str


# -- catalog ------------------------------------------------------------------------------------


class RequiredFieldRead(msgspec.Struct):
    name: str
    title: str
    pattern: str


class ProductRead(msgspec.Struct):
    sku: str
    name: str
    vendor: str
    version: str
    category: str
    kind: Literal["key", "subscription"]
    price: MoneyStr
    currency: str
    vat_rate: str
    required_fields: list[RequiredFieldRead]
    download_url: str
    active: bool


class ProductList(msgspec.Struct):
    items: list[ProductRead]
    next_cursor: str | None


# -- orders -------------------------------------------------------------------------------------


class OrderCreate(msgspec.Struct, kw_only=True):
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    quantity: Annotated[int, msgspec.Meta(description="Units, an integer in 1..1000")]
    test: bool = False
    fields: dict[str, str] | None = None
    callback_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class KeyRead(msgspec.Struct):
    activation_code: str
    download_url: str
    download_expires_at: datetime


class OrderRead(msgspec.Struct):
    id: uuid.UUID
    external_id: str
    sku: str
    name: str
    quantity: int
    unit_price: MoneyStr
    amount: MoneyStr
    vat_rate: str
    vat_amount: MoneyStr
    test: bool
    status: Literal["pending", "completed", "rejected", "failed", "cancelled"]
    created_at: datetime
    reason: str | None = None
    completed_at: datetime | None = None
    keys: list[KeyRead] = msgspec.field(default_factory=list)


class OrderList(msgspec.Struct):
    items: list[OrderRead]
    next_cursor: str | None


# -- balance and documents ----------------------------------------------------------------------


class BalanceRead(msgspec.Struct):
    currency: str
    limit: MoneyStr
    debt: MoneyStr
    reserved: MoneyStr
    remainder: MoneyStr
    available: MoneyStr
    overdue_amount: MoneyStr
    blocked: bool
    term_days: int
    next_due_date: dt.date | None


class DocumentLineRead(msgspec.Struct):
    order_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price: MoneyStr
    amount: MoneyStr
    vat_rate: str
    vat_amount: MoneyStr


class DocumentRead(msgspec.Struct):
    number: str
    date: dt.date
    lines: list[DocumentLineRead]
    amount: MoneyStr
    vat_amount: MoneyStr
    due_date: dt.date
    paid_amount: MoneyStr
    status: str


class DocumentList(msgspec.Struct):
    items: list[DocumentRead]


# -- test clock ---------------------------------------------------------------------------------


class ClockUpdate(msgspec.Struct):
    now: datetime | None = None
    advance_days: Annotated[int, msgspec.Meta(ge=-3650, le=3650)] | None = None


class ClockRead(msgspec.Struct):
    now: datetime
