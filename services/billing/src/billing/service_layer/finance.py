"""The finance feed's events, built the same way on first emission and on replay so that a
replayed event is the same event: same ``message_id``, same body."""

from __future__ import annotations

import datetime as dt
import uuid

from esd_contracts.billing.finance import (
    DocumentClosed,
    DocumentLineAdded,
    document_closed_id,
    line_added_id,
)
from esd_contracts.billing.queries import VatTotal

from billing.domain.model import Line, Snapshot
from billing.domain.vat import RateTotal


def line_added(
    *, partner_id: uuid.UUID, number: str, date: dt.date, line: Line
) -> DocumentLineAdded:
    return DocumentLineAdded(
        message_id=line_added_id(line.order_id),
        correlation_id=line.order_id,
        occurred_at=line.created_at,
        partner_id=partner_id,
        document_number=number,
        document_date=date,
        position=line.position,
        order_id=line.order_id,
        sku=line.sku,
        quantity=line.quantity,
        amount=line.amount,
        vat_rate=line.vat_rate,
        vat_amount=line.vat_amount,
    )


def vat_total(total: RateTotal) -> VatTotal:
    return VatTotal(
        rate=total.rate,
        amount=total.amount,
        vat_amount=total.vat_amount,
        amount_without_vat=total.amount_without_vat,
    )


def document_closed(document: Snapshot, totals: tuple[RateTotal, ...]) -> DocumentClosed:
    if document.closed_at is None:
        raise ValueError(f"document {document.number} is not closed")
    return DocumentClosed(
        message_id=document_closed_id(document.number),
        correlation_id=document.partner_id,
        occurred_at=document.closed_at,
        partner_id=document.partner_id,
        document_number=document.number,
        document_date=document.date,
        due_date=document.due_date,
        line_count=document.line_count,
        amount=document.amount,
        vat_amount=document.vat_amount,
        vat_totals=tuple(vat_total(t) for t in totals),
        supplement_to=document.supplement_to,
    )
