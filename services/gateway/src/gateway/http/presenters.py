"""Rows and replies turned into the spec's resources; cursors encoded opaquely."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from esd_contracts.billing.queries import Document
from sqlalchemy import Row

from gateway.domain.pricing import money
from gateway.http.errors import ApiError
from gateway.http.schemas import (
    ApplicationRead,
    DocumentLineRead,
    DocumentRead,
    KeyRead,
    OrderRead,
    PartnerRead,
    ProductRead,
    RequiredFieldRead,
)
from gateway.service_layer.ordering import KeyLink


def order_read(row: Row[Any], keys: list[KeyLink] | None = None) -> OrderRead:
    return OrderRead(
        id=row.id,
        external_id=row.external_id,
        sku=row.sku,
        name=row.name,
        quantity=row.quantity,
        unit_price=money(row.unit_price),
        amount=money(row.amount),
        vat_rate=row.vat_rate,
        vat_amount=money(row.vat_amount),
        test=row.test,
        status=row.status,
        reason=row.reason,
        created_at=row.created_at,
        completed_at=row.completed_at,
        keys=[
            KeyRead(k.activation_code, k.download_url, k.download_expires_at) for k in keys or ()
        ],
    )


def product_read(row: Row[Any]) -> ProductRead:
    return ProductRead(
        sku=row.sku,
        name=row.name,
        vendor=row.vendor,
        version=row.version,
        category=row.category,
        kind=row.kind,
        price=money(row.base_price),  # partner price rules arrive with the catalog's terms
        currency="RUB",
        vat_rate=row.vat_rate,
        required_fields=[RequiredFieldRead(**f) for f in row.required_fields or ()],
        download_url=row.download_url,
        active=row.active,
    )


def application_read(row: Row[Any]) -> ApplicationRead:
    return ApplicationRead(
        application_id=row.id,
        company_name=row.company_name,
        inn=row.inn,
        kpp=row.kpp,
        email=row.email,
        region=row.region,
        distributor_reseller_id=row.distributor_reseller_id,
        status=row.status,
        reason=row.reason,
        partner_id=row.partner_id,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def partner_read(row: Row[Any]) -> PartnerRead:
    return PartnerRead(
        partner_id=row.partner_id,
        reseller_id=row.reseller_id,
        company_name=row.company,
        inn=row.inn,
        kpp=row.kpp,
        email=row.email,
        region=row.region,
        live=row.live,
        credit_limit=money(row.credit_limit),
        term_days=row.term_days,
        contract_signed=getattr(row, "contract_number", None) is not None,
        contract_number=getattr(row, "contract_number", None),
        contract_date=getattr(row, "contract_date", None),
        rate_limit_per_minute=getattr(row, "rate_per_minute", None),
        official=bool(getattr(row, "official", False)),
    )


def document_read(doc: Document) -> DocumentRead:
    return DocumentRead(
        number=doc.number,
        date=doc.date,
        lines=[
            DocumentLineRead(
                order_id=line.order_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                amount=money(line.amount),
                vat_rate=line.vat_rate,
                vat_amount=money(line.vat_amount),
            )
            for line in doc.lines
        ],
        amount=money(doc.amount),
        vat_amount=money(doc.vat_amount),
        due_date=doc.due_date,
        paid_amount=money(doc.paid_amount),
        status=doc.status,
    )


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(422, "validation_error", "cursor is not valid") from exc


def order_cursor(row: Row[Any]) -> str:
    return encode_cursor(f"{row.created_at.isoformat()}|{row.id}")


def decode_order_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    raw = decode_cursor(cursor)
    try:
        at, _, order_id = raw.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(order_id)
    except ValueError as exc:
        raise ApiError(422, "validation_error", "cursor is not valid") from exc
