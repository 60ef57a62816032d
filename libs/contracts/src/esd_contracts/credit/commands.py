"""Commands the credit service accepts. ``correlation_id`` = order id where there is one."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Command, MessageKind, Money, Query


class ReserveCredit(Command):
    """Hold ``amount`` of the partner's available credit for an order in flight."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order the reservation is for")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Amount to hold, RUB")


class ReleaseCredit(Command):
    """Compensation: give an order's reservation back (vendor failed, order cancelled)."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order whose reservation is released")
    partner_id: uuid.UUID = Field(description="Whose credit line")


class SetCreditTerms(Command):
    """Ops or a distributor set a partner's limit and payment term (applies to new documents)."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose credit line")
    limit: Money = Field(description="New credit limit, RUB")
    term_days: int = Field(ge=0, le=365, description="Payment term, calendar days")
    set_by: str = Field(
        default="ops",
        description="Who set the terms, kept in the terms history: 'ops' or "
        "'distributor:<reseller id>'",
    )


class PostPayment(Command):
    """A payment received on the distributor's account (ops, or a bank feed): matched to the
    partner by ``payer_inn``, applied to the documents its purpose names, then to the oldest open
    ones; the rest stays as the partner's unallocated credit. The same (payer_inn, number, date)
    counts once. ``correlation_id`` is a fresh id (the partner's id when known). Fire-and-forget:
    the outcome is published as ``PaymentReceived``/``PaymentAllocated`` events; callers that need
    the answer at once send :class:`PostPayments` instead."""

    CONTEXT: ClassVar[str] = "credit"

    payer_inn: str = Field(description="Payer's ИНН (10 or 12 digits)")
    amount: Money = Field(gt=0, description="Amount received, RUB")
    date: dt.date = Field(description="Day the money reached the distributor's account")
    number: str = Field(min_length=1, description="Payment order number (номер п/п)")
    purpose: str = Field(default="", description="Назначение платежа, as the payer wrote it")
    payer_kpp: str | None = Field(default=None, description="Payer's КПП, to tell branches apart")
    payer_name: str | None = Field(default=None, description="Payer's name, for the record")


class PaymentOrder(BaseModel):
    """One payment inside :class:`PostPayments` (the spec's ``POST /admin/payments`` body)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payer_inn: str = Field(description="Payer's ИНН (10 or 12 digits)")
    amount: Money = Field(gt=0, description="Amount received, RUB")
    date: dt.date = Field(description="Day the money reached the distributor's account")
    number: str = Field(min_length=1, description="Payment order number (номер п/п)")
    purpose: str = Field(default="", description="Назначение платежа")
    payer_kpp: str | None = Field(default=None, description="Payer's КПП, if any")
    payer_name: str | None = Field(default=None, description="Payer's name")


class PostPayments(Query):
    """Request/reply (though a command: it goes to ``credit.commands``): post payments and answer
    :class:`~esd_contracts.credit.queries.PaymentsPosted` at once. Idempotent: a payment already
    posted (same payer_inn, number, date) is answered as it was applied, and counts once, so a
    caller that timed out may simply send it again. ``correlation_id`` is a fresh id."""

    CONTEXT: ClassVar[str] = "credit"
    KIND: ClassVar[MessageKind] = "command"

    payments: tuple[PaymentOrder, ...] = Field(description="Payments to post, in order")


class PostBankStatement(Query):
    """Request/reply (though a command: it goes to ``credit.commands``): parse a
    ``1CClientBankExchange`` statement (1.02/1.03, Windows-1251, DOS or UTF-8), post its incoming
    payments as :class:`PostPayments` does, and answer
    :class:`~esd_contracts.credit.queries.PaymentsPosted` with a problem per unreadable line,
    unknown payer or rejected document. Idempotent like :class:`PostPayments`."""

    CONTEXT: ClassVar[str] = "credit"
    KIND: ClassVar[MessageKind] = "command"

    content_base64: str = Field(description="The statement file's bytes, base64")
    filename: str | None = Field(default=None, description="Original file name, for the log")


class ChargeSubscription(Command):
    """Billing charged a subscription's month onto a document: make it debt on the credit line.

    Idempotent by ``charge_id`` (a repeat adds nothing); the debt is a ``document_debt`` entry of
    the ledger on ``document_number``, so the balance's debt and the documents agree. A charge
    is never refused: the seats were used (it may take the line above its limit).
    ``correlation_id`` = subscription id.
    """

    CONTEXT: ClassVar[str] = "credit"

    charge_id: uuid.UUID = Field(description="The charge (billing's line order_id)")
    subscription_id: uuid.UUID = Field(description="The subscription charged")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(gt=0, description="Debt to add, RUB")
    document_number: str = Field(description="Shipping document the charge is on")
    document_date: date = Field(description="The document's calendar day (the month's last)")
    due_date: date = Field(description="When the document must be paid")


class ReplayFinanceFeed(Query):
    """Request/reply (though a command: it goes to ``credit.commands``): publish again the
    finance copies (``finance.PaymentReceived`` … ``finance.PartnerUnblocked``) that credit
    emitted on Moscow days ``date_from``..``date_to``, with their original ids and bodies."""

    CONTEXT: ClassVar[str] = "credit"
    KIND: ClassVar[MessageKind] = "command"

    date_from: date = Field(description="First day (Moscow) of the events, inclusive")
    date_to: date = Field(description="Last day, inclusive")
    partner_id: uuid.UUID | None = Field(default=None, description="Only this partner's events")


class FinanceFeedReplayed(BaseModel):
    """Answer to :class:`ReplayFinanceFeed`."""

    model_config = ConfigDict(frozen=True)

    events: int = Field(description="Finance events re-emitted")
