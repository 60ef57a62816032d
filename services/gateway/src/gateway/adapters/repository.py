"""SQL of the gateway's own tables (schema ``gateway``); Core ``text()`` only, no ORM.

The connection's search_path is the gateway schema, so table names are plain.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from esd_platform.db import Db, Statement
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.adapters.read_caches import BALANCE_CHANNEL
from gateway.adapters.waiters import CHANNEL as ORDER_CHANNEL
from gateway.domain.ordering import PricedOrder, ProductTerms, RequiredField

# -- applications and partners ----------------------------------------------------------------

_INSERT_APPLICATION = text(
    "INSERT INTO applications (id, company_name, inn, kpp, email, region, "
    "distributor_reseller_id, created_at) VALUES (:id, :company_name, :inn, :kpp, :email, "
    ":region, :distributor_reseller_id, :created_at)"
)


async def insert_application(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(_INSERT_APPLICATION, values)


async def list_applications(
    conn: AsyncConnection, status: str | None, limit: int
) -> Sequence[Row[Any]]:
    sql = "SELECT * FROM applications"
    params: dict[str, Any] = {"limit": limit}
    if status:
        sql += " WHERE status = :status"
        params["status"] = status
    sql += " ORDER BY created_at, id LIMIT :limit"
    return (await conn.execute(text(sql), params)).all()


async def application(conn: AsyncConnection, application_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM applications WHERE id = :id"), {"id": application_id}
        )
    ).first()


async def decide_application(
    conn: AsyncConnection,
    application_id: uuid.UUID,
    status: str,
    at: datetime,
    reason: str | None = None,
    partner_id: uuid.UUID | None = None,
) -> Row[Any] | None:
    """Move a pending application to ``status``; None when it is not pending (or missing)."""
    return (
        await conn.execute(
            text(
                "UPDATE applications SET status = :status, reason = :reason, "
                "partner_id = :partner_id, decided_at = :at "
                "WHERE id = :id AND status = 'pending' RETURNING *"
            ),
            {
                "id": application_id,
                "status": status,
                "reason": reason,
                "partner_id": partner_id,
                "at": at,
            },
        )
    ).first()


async def insert_partner(conn: AsyncConnection, **values: Any) -> str:
    """Create the partner; returns its reseller id ``R-000001`` drawn from a sequence."""
    values.setdefault("official", False)
    row = (
        await conn.execute(
            text(
                "INSERT INTO partners (partner_id, reseller_id, application_id, company, inn, "
                "kpp, email, region, distributor_reseller_id, credit_limit, term_days, "
                "webhook_secret, created_at, official) VALUES (:partner_id, "
                "'R-' || lpad(nextval('reseller_seq')::text, 6, '0'), :application_id, "
                ":company, :inn, :kpp, :email, :region, :distributor_reseller_id, "
                ":credit_limit, :term_days, :webhook_secret, :created_at, :official) "
                "RETURNING reseller_id"
            ),
            values,
        )
    ).one()
    return str(row.reseller_id)


async def partner(conn: AsyncConnection, partner_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM partners WHERE partner_id = :id"), {"id": partner_id}
        )
    ).first()


async def set_partner_terms(
    conn: AsyncConnection, partner_id: uuid.UUID, limit: Decimal, term_days: int
) -> bool:
    result = await conn.execute(
        text("UPDATE partners SET credit_limit = :limit, term_days = :term WHERE partner_id = :id"),
        {"id": partner_id, "limit": limit, "term": term_days},
    )
    return bool(result.rowcount)


async def go_live(conn: AsyncConnection, partner_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text("UPDATE partners SET live = true WHERE partner_id = :id RETURNING *"),
            {"id": partner_id},
        )
    ).first()


async def insert_api_key(
    conn: AsyncConnection, partner_id: uuid.UUID, key_id: uuid.UUID, key_hash: str, at: datetime
) -> None:
    await conn.execute(
        text(
            "INSERT INTO api_keys (key_id, partner_id, key_hash, created_at) "
            "VALUES (:key_id, :partner_id, :key_hash, :at)"
        ),
        {"key_id": key_id, "partner_id": partner_id, "key_hash": key_hash, "at": at},
    )


async def revoke_api_key(
    conn: AsyncConnection, partner_id: uuid.UUID, key_id: uuid.UUID, at: datetime
) -> bool:
    result = await conn.execute(
        text(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, :at) "
            "WHERE key_id = :key_id AND partner_id = :partner_id"
        ),
        {"key_id": key_id, "partner_id": partner_id, "at": at},
    )
    return bool(result.rowcount)


_PARTNER_BY_KEY = text(
    "SELECT p.partner_id, p.reseller_id, p.live, k.key_id FROM api_keys k "
    "JOIN partners p USING (partner_id) WHERE k.key_hash = :hash AND k.revoked_at IS NULL"
)


async def partner_by_key_hash(conn: AsyncConnection, key_hash: str) -> Row[Any] | None:
    return (await conn.execute(_PARTNER_BY_KEY, {"hash": key_hash})).first()


# -- product replica ----------------------------------------------------------------------------

_PRODUCT = Statement("SELECT * FROM products WHERE sku = :sku")


async def product(db: Db, sku: str) -> Any:
    """The product's replica row, or None (by attribute, on either connection)."""
    return await _PRODUCT.first(db, {"sku": sku})


def product_terms(row: Row[Any]) -> ProductTerms:
    return ProductTerms(
        sku=row.sku,
        name=row.name,
        unit_price=row.base_price,
        vat_rate=row.vat_rate,
        active=row.active,
        key_source=row.key_source,
        required_fields=tuple(RequiredField(**f) for f in row.required_fields or ()),
    )


async def list_products(
    conn: AsyncConnection,
    *,
    vendor: str | None,
    q: str | None,
    kind: str | None,
    after_sku: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if vendor:
        clauses.append("lower(vendor) = lower(:vendor)")
        params["vendor"] = vendor
    if kind:
        clauses.append("kind = :kind")
        params["kind"] = kind
    if q:
        clauses.append("(name ILIKE :q OR sku ILIKE :q OR vendor ILIKE :q)")
        params["q"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if after_sku is not None:
        clauses.append("sku > :after")
        params["after"] = after_sku
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT * FROM products{where} ORDER BY sku LIMIT :limit"
    return (await conn.execute(text(sql), params)).all()


# -- orders -------------------------------------------------------------------------------------

_INSERT_ORDER = Statement(
    "INSERT INTO orders (id, partner_id, external_id, fingerprint, sku, name, quantity, "
    "unit_price, amount, vat_rate, vat_amount, test, fields, callback_url, created_at) "
    "VALUES (:id, :partner_id, :external_id, :fingerprint, :sku, :name, :quantity, "
    ":unit_price, :amount, :vat_rate, :vat_amount, :test, CAST(:fields AS jsonb), "
    ":callback_url, :created_at) "
    "ON CONFLICT (partner_id, external_id) DO NOTHING RETURNING *"
)


async def insert_order(
    db: Db,
    *,
    order_id: uuid.UUID,
    partner_id: uuid.UUID,
    external_id: str,
    fingerprint: str,
    sku: str,
    name: str,
    quantity: int,
    priced: PricedOrder,
    test: bool,
    callback_url: str | None,
    created_at: datetime,
) -> Any:
    """Insert a pending order: its row, or None when the partner already has this
    ``external_id``.

    The unique constraint decides between racing requests: the loser waits for the winner's
    commit and then finds its row.
    """
    return await _INSERT_ORDER.first(
        db,
        {
            "id": order_id,
            "partner_id": partner_id,
            "external_id": external_id,
            "fingerprint": fingerprint,
            "sku": sku,
            "name": name,
            "quantity": quantity,
            "unit_price": priced.unit_price,
            "amount": priced.amount,
            "vat_rate": priced.vat_rate,
            "vat_amount": priced.vat_amount,
            "test": test,
            "fields": json.dumps(priced.fields),
            "callback_url": callback_url,
            "created_at": created_at,
        },
    )


_ORDER_BY_EXTERNAL = text(
    "SELECT * FROM orders WHERE partner_id = :partner_id AND external_id = :external_id"
)


async def order_by_external_id(
    conn: AsyncConnection, partner_id: uuid.UUID, external_id: str
) -> Row[Any] | None:
    return (
        await conn.execute(
            _ORDER_BY_EXTERNAL, {"partner_id": partner_id, "external_id": external_id}
        )
    ).first()


_ORDER = text("SELECT * FROM orders WHERE id = :id AND partner_id = :partner_id")


async def order(
    conn: AsyncConnection, order_id: uuid.UUID, partner_id: uuid.UUID
) -> Row[Any] | None:
    """The partner's order; another partner's is as absent as a missing one."""
    return (await conn.execute(_ORDER, {"id": order_id, "partner_id": partner_id})).first()


async def list_orders(
    conn: AsyncConnection,
    partner_id: uuid.UUID,
    *,
    external_id: str | None,
    status: str | None,
    since: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Newest first, keyset-paged on (created_at, id)."""
    clauses = ["partner_id = :partner_id"]
    params: dict[str, Any] = {"partner_id": partner_id, "limit": limit}
    if external_id is not None:
        clauses.append("external_id = :external_id")
        params["external_id"] = external_id
    if status is not None:
        clauses.append("status = :status")
        params["status"] = status
    if since is not None:
        clauses.append("created_at >= :since")
        params["since"] = since
    if before is not None:
        clauses.append("(created_at, id) < (:before_at, :before_id)")
        params["before_at"], params["before_id"] = before
    sql = (
        f"SELECT * FROM orders WHERE {' AND '.join(clauses)} "
        "ORDER BY created_at DESC, id DESC LIMIT :limit"
    )
    return (await conn.execute(text(sql), params)).all()


_FINALIZE = Statement(
    "WITH final AS (UPDATE orders SET status = :status, reason = :reason, "
    "completed_at = :completed_at, document_number = coalesce(:document_number, document_number), "
    "sealed_keys = :sealed_keys WHERE id = :id AND status = 'pending' RETURNING *) "
    # on commit: the order's waiters wake, and its partner's balance (captured or released by
    # now) is read again; in the same round trip as the change
    f"SELECT final.*, pg_notify('{ORDER_CHANNEL}', final.id::text) AS woke, "
    f"pg_notify('{BALANCE_CHANNEL}', final.partner_id::text) AS rebalanced FROM final"
)


async def finalize_order(
    db: Db,
    order_id: uuid.UUID,
    status: str,
    *,
    reason: str | None = None,
    completed_at: datetime | None = None,
    document_number: str | None = None,
    sealed_keys: str | None = None,
) -> Any:
    """pending → a final status, once (the order as it now is, its waiters and balance readers
    notified on commit); a later or repeated outcome changes nothing (None)."""
    return await _FINALIZE.first(
        db,
        {
            "id": order_id,
            "status": status,
            "reason": reason,
            "completed_at": completed_at,
            "document_number": document_number,
            "sealed_keys": sealed_keys,
        },
    )


async def mark_cancel_refused(conn: AsyncConnection, order_id: uuid.UUID) -> None:
    await conn.execute(
        text("UPDATE orders SET cancel_refused = true WHERE id = :id"), {"id": order_id}
    )


async def clear_cancel_refused(conn: AsyncConnection, order_id: uuid.UUID) -> None:
    await conn.execute(
        text("UPDATE orders SET cancel_refused = false WHERE id = :id AND cancel_refused"),
        {"id": order_id},
    )
