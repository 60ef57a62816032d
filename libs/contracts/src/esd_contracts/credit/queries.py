"""Read-only queries the credit service answers over direct reply-to."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Money, Query


class GetBalance(Query):
    """The partner's balance now, or at a past moment ``at``."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose balance")
    at: datetime | None = Field(default=None, description="Past moment; now when omitted")


class Balance(BaseModel):
    """Answer to :class:`GetBalance`; the spec's balance resource."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False when the partner has no credit line")
    currency: str = Field(default="RUB", description="Always RUB")
    limit: Money = Field(description="Credit limit")
    debt: Money = Field(description="Captured, unpaid debt")
    reserved: Money = Field(description="Held for orders in flight")
    remainder: Money = Field(description="limit − debt")
    available: Money = Field(description="remainder − reserved")
    overdue_amount: Money = Field(description="Unpaid debt past its due date")
    blocked: bool = Field(description="Overdue debt blocks new non-test orders")
    term_days: int = Field(description="Payment term, calendar days")
    next_due_date: date | None = Field(description="Earliest due date of unpaid debt")


class PaymentAllocation(BaseModel):
    """Money of one payment applied to one document."""

    model_config = ConfigDict(frozen=True)

    document: str = Field(description="Document number")
    amount: Money = Field(description="Amount applied")


class PostedPayment(BaseModel):
    """The spec's answer for one payment: where its money went."""

    model_config = ConfigDict(frozen=True)

    number: str = Field(description="Payment order number")
    partner_id: uuid.UUID | None = Field(description="Matched partner; None for an unknown payer")
    amount: Money = Field(description="Amount of the payment")
    allocations: tuple[PaymentAllocation, ...] = Field(description="Documents paid, in order")
    unallocated: Money = Field(description="What is left as the partner's unallocated credit")
    date: dt.date | None = Field(default=None, description="Day the money arrived")
    payer_inn: str | None = Field(default=None, description="Payer's ИНН")
    status: str = Field(
        default="posted",
        description="'posted'; 'duplicate' (posted before: answered as applied, counted once); "
        "'unknown_payer' (no partner has this ИНН: nothing booked); 'ambiguous_payer' (several "
        "partners share the ИНН and the КПП does not tell them apart: nothing booked)",
    )


class StatementProblem(BaseModel):
    """Something in the input that was not booked, and why."""

    model_config = ConfigDict(frozen=True)

    line: int | None = Field(default=None, description="Line of the statement file, from 1")
    number: str | None = Field(default=None, description="Payment number, when known")
    code: str = Field(
        description="'unreadable_line', 'invalid_document', 'missing_field', 'invalid_amount', "
        "'invalid_date', 'unknown_payer', 'ambiguous_payer', 'not_a_statement', "
        "'unterminated_document', 'invalid_file'"
    )
    detail: str = Field(description="Human-readable explanation")


class PaymentsPosted(BaseModel):
    """Answer to ``PostPayments`` and ``PostBankStatement``."""

    model_config = ConfigDict(frozen=True)

    payments: tuple[PostedPayment, ...] = Field(description="One per payment read, in order")
    problems: tuple[StatementProblem, ...] = Field(default=(), description="What was not booked")


class GetReceivablesAging(Query):
    """Ops/finance: each partner's unpaid debt by age past its due date on day ``on``."""

    CONTEXT: ClassVar[str] = "credit"

    on: date | None = Field(default=None, description="Report day (Moscow); today when omitted")
    format: Literal["json", "csv"] = Field(default="json", description="'csv' also fills csv")


class AgingRow(BaseModel):
    """One partner's receivables by age bucket."""

    model_config = ConfigDict(frozen=True)

    partner_id: uuid.UUID
    inn: str | None
    company_name: str | None
    current: Money = Field(description="Not yet due")
    overdue_1_7: Money = Field(description="1–7 days past due")
    overdue_8_30: Money = Field(description="8–30 days past due")
    overdue_30_plus: Money = Field(description="More than 30 days past due")
    total: Money = Field(description="All unpaid debt")


class ReceivablesAging(BaseModel):
    """Answer to :class:`GetReceivablesAging`: rows of partners with unpaid debt, and totals."""

    model_config = ConfigDict(frozen=True)

    on: date = Field(description="Report day (Moscow)")
    rows: tuple[AgingRow, ...]
    totals: AgingRow = Field(description="Sums over all rows (partner_id is the nil uuid)")
    csv: str | None = Field(default=None, description="The same report as CSV, when asked")


class GetCreditHistory(Query):
    """Ops: a partner's terms history and its payments (newest first, with their allocations),
    payments optionally only of payment dates ``date_from``..``date_to``."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose credit line")
    date_from: date | None = Field(default=None, description="First payment date, inclusive")
    date_to: date | None = Field(default=None, description="Last payment date, inclusive")
    limit: int = Field(default=500, ge=1, le=5000, description="At most this many payments")


class TermsEntry(BaseModel):
    """One entry of the terms history: in force from ``effective_at`` on."""

    model_config = ConfigDict(frozen=True)

    limit: Money = Field(description="Credit limit, RUB")
    term_days: int = Field(description="Payment term, calendar days")
    source: str = Field(description="'registration', 'ops' or 'distributor:<reseller id>'")
    effective_at: datetime = Field(description="When it was set")


class PaymentEntry(BaseModel):
    """A booked payment and where its money went."""

    model_config = ConfigDict(frozen=True)

    payment_id: uuid.UUID
    number: str = Field(description="Payment order number")
    date: dt.date = Field(description="Day the money reached the distributor's account")
    amount: Money
    unallocated: Money = Field(description="Still waiting for documents to pay")
    payer_inn: str
    purpose: str = ""
    source: str = Field(description="'ops', 'statement' or 'command'")
    posted_at: datetime
    allocations: tuple[PaymentAllocation, ...] = ()


class CreditHistory(BaseModel):
    """Answer to :class:`GetCreditHistory`; ``found`` is false when the partner has no line."""

    model_config = ConfigDict(frozen=True)

    found: bool
    terms: tuple[TermsEntry, ...] = ()
    payments: tuple[PaymentEntry, ...] = ()
