"""HTTP bodies of payments, bank statements, balances at a moment and the receivables report."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec

from gateway.http.catalog_schemas import PriceRuleBody, PriceRuleRead
from gateway.http.schemas import MoneyStr


class PaymentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One payment received on the distributor's account (the spec's body)."""

    payer_inn: Annotated[str, msgspec.Meta(description="Payer's ИНН, 10 or 12 digits")]
    amount: Annotated[
        str, msgspec.Meta(description='Amount received, RUB, a decimal string: "15000.00"')
    ]
    date: Annotated[
        dt.date, msgspec.Meta(description="Day the money reached the distributor's account")
    ]
    number: Annotated[
        str, msgspec.Meta(min_length=1, max_length=64, description="Payment order number")
    ]
    purpose: Annotated[
        str, msgspec.Meta(max_length=2000, description="Назначение платежа, as written")
    ] = ""
    payer_kpp: (
        Annotated[str, msgspec.Meta(description="Payer's КПП, tells branches sharing an ИНН apart")]
        | None
    ) = None
    payer_name: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class AllocationRead(msgspec.Struct):
    document: str
    amount: MoneyStr


class PostedPaymentRead(msgspec.Struct):
    number: str
    partner_id: uuid.UUID | None
    amount: MoneyStr
    allocations: list[AllocationRead]
    unallocated: MoneyStr
    date: dt.date | None = None
    payer_inn: str | None = None
    status: Annotated[
        str,
        msgspec.Meta(
            description="posted; duplicate (posted before, counted once, answered as applied); "
            "unknown_payer or ambiguous_payer (nothing booked)"
        ),
    ] = "posted"


class StatementProblemRead(msgspec.Struct):
    code: Annotated[
        str,
        msgspec.Meta(
            description="unreadable_line, invalid_document, missing_field, invalid_amount, "
            "invalid_date, unknown_payer, ambiguous_payer, unterminated_document, ..."
        ),
    ]
    detail: str
    line: Annotated[int | None, msgspec.Meta(description="Line of the file, from 1")] = None
    number: str | None = None


class PaymentsRead(msgspec.Struct):
    """The spec's answer, plus what was not booked and why."""

    payments: list[PostedPaymentRead]
    problems: list[StatementProblemRead] = msgspec.field(default_factory=list)


class AgingRowRead(msgspec.Struct):
    partner_id: uuid.UUID | None
    inn: str | None
    company_name: str | None
    current: Annotated[MoneyStr, msgspec.Meta(description="Not yet due")]
    overdue_1_7: MoneyStr
    overdue_8_30: MoneyStr
    overdue_30_plus: MoneyStr
    total: MoneyStr


class ReceivablesRead(msgspec.Struct):
    on: Annotated[dt.date, msgspec.Meta(description="Report day (Europe/Moscow)")]
    rows: list[AgingRowRead]
    totals: AgingRowRead


class DistributorTermsUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A distributor's terms for a partner under it: credit terms, a price rule, or both."""

    limit: Annotated[
        Decimal | None, msgspec.Meta(description='Credit limit, RUB, e.g. "60000.00"')
    ] = None
    term_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    price_rule: Annotated[
        PriceRuleBody | None,
        msgspec.Meta(description="The partner's price rule (replaces the one it had)"),
    ] = None


class TermsRead(msgspec.Struct, omit_defaults=True):
    """Terms a distributor set for a partner under it."""

    partner_id: uuid.UUID
    set_by: Annotated[str, msgspec.Meta(description="'distributor:<reseller id>'")]
    limit: MoneyStr | None = None
    term_days: int | None = None
    price_rule: PriceRuleRead | None = None


class TermsEntryRead(msgspec.Struct):
    limit: MoneyStr
    term_days: int
    source: Annotated[
        str, msgspec.Meta(description="registration, ops or distributor:<reseller id>")
    ]
    effective_at: dt.datetime


class TermsHistoryRead(msgspec.Struct):
    """A partner's credit terms, newest (in force) first."""

    partner_id: uuid.UUID
    items: list[TermsEntryRead]


class PaymentEntryRead(msgspec.Struct):
    payment_id: uuid.UUID
    number: str
    date: dt.date
    amount: MoneyStr
    unallocated: MoneyStr
    payer_inn: str
    purpose: str
    source: Annotated[str, msgspec.Meta(description="ops, statement or command")]
    posted_at: dt.datetime
    allocations: list[AllocationRead]


class PartnerPaymentsRead(msgspec.Struct):
    """A partner's payments, newest first, and where each one's money went."""

    partner_id: uuid.UUID
    items: list[PaymentEntryRead]
