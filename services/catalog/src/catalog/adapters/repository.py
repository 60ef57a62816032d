"""Products, vendors and categories in PostgreSQL, through SQLAlchemy Core on the caller's
connection (so every write shares the transaction that stages its events)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.domain.model import Category, Product, RequiredField, Vendor

WRITE_LOCK = "esd:catalog:write"
"""Catalog writes (seed, imports) are ops-rate: one at a time keeps revisions strictly ordered."""

_PRODUCT_COLUMNS = (
    "sku, name, vendor_id, version, category_id, kind, base_price, vat_rate, required_fields, "
    "download_url, key_source, active, predecessor_sku, revision"
)

_UPSERT_PRODUCT = text(
    f"INSERT INTO products ({_PRODUCT_COLUMNS}, created_at, updated_at) VALUES "
    "(:sku, :name, :vendor_id, :version, :category_id, :kind, :base_price, :vat_rate, "
    "CAST(:required_fields AS jsonb), :download_url, :key_source, :active, :predecessor_sku, "
    ":revision, :now, :now) "
    "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, vendor_id = excluded.vendor_id, "
    "version = excluded.version, category_id = excluded.category_id, kind = excluded.kind, "
    "base_price = excluded.base_price, vat_rate = excluded.vat_rate, "
    "required_fields = excluded.required_fields, download_url = excluded.download_url, "
    "key_source = excluded.key_source, active = excluded.active, "
    "predecessor_sku = excluded.predecessor_sku, revision = excluded.revision, "
    "updated_at = excluded.updated_at "
    # a concurrent writer that already stored a newer revision wins
    "WHERE products.revision < excluded.revision"
)


def required_fields_json(fields: Iterable[RequiredField]) -> str:
    return json.dumps(
        [{"name": f.name, "title": f.title, "pattern": f.pattern} for f in fields],
        ensure_ascii=False,
    )


def _product_params(product: Product, now: datetime) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "vendor_id": product.vendor,
        "version": product.version,
        "category_id": product.category,
        "kind": product.kind,
        "base_price": product.base_price,
        "vat_rate": product.vat_rate,
        "required_fields": required_fields_json(product.required_fields),
        "download_url": product.download_url,
        "key_source": product.key_source,
        "active": product.active,
        "predecessor_sku": product.predecessor_sku,
        "revision": product.revision,
        "now": now,
    }


def _product(row: Any) -> Product:
    fields = row.required_fields
    if isinstance(fields, str):
        fields = json.loads(fields)
    return Product(
        sku=row.sku,
        name=row.name,
        vendor=row.vendor_id,
        version=row.version,
        category=row.category_id,
        kind=row.kind,
        base_price=Decimal(row.base_price),
        vat_rate=row.vat_rate,
        download_url=row.download_url,
        key_source=row.key_source,
        active=row.active,
        required_fields=tuple(RequiredField(**f) for f in fields),
        predecessor_sku=row.predecessor_sku,
        revision=row.revision,
    )


async def lock_catalog_writes(conn: AsyncConnection) -> None:
    """Serialise catalog writers across instances for the rest of this transaction."""
    # the engine's 5 s lock_timeout is for hot rows; a peer's seed or import may take longer
    await conn.execute(text("SET LOCAL lock_timeout = '120s'"))
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": WRITE_LOCK})


async def has_products(conn: AsyncConnection) -> bool:
    return bool((await conn.execute(text("SELECT EXISTS (SELECT 1 FROM products)"))).scalar())


async def add_vendors(conn: AsyncConnection, vendors: Sequence[Vendor]) -> None:
    if vendors:
        await conn.execute(
            text(
                "INSERT INTO vendors (id, name, website) VALUES (:id, :name, :website) "
                "ON CONFLICT (id) DO NOTHING"
            ),
            [{"id": v.id, "name": v.name, "website": v.website} for v in vendors],
        )


async def add_categories(conn: AsyncConnection, categories: Sequence[Category]) -> None:
    """Insert categories, parents before children (the tree's foreign key)."""
    if categories:
        await conn.execute(
            text(
                "INSERT INTO categories (id, name, parent_id) VALUES (:id, :name, :parent_id) "
                "ON CONFLICT (id) DO NOTHING"
            ),
            [{"id": c.id, "name": c.name, "parent_id": c.parent_id} for c in categories],
        )


async def save_products(conn: AsyncConnection, products: Sequence[Product], now: datetime) -> None:
    """Insert or update ``products`` (one round trip per batch, pipelined by asyncpg)."""
    if products:
        await conn.execute(_UPSERT_PRODUCT, [_product_params(p, now) for p in products])


async def get_products(conn: AsyncConnection, skus: Sequence[str]) -> dict[str, Product]:
    """The stored products among ``skus``, locked against concurrent writers."""
    if not skus:
        return {}
    rows = await conn.execute(
        text(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku = ANY(:skus) FOR UPDATE"),
        {"skus": list(skus)},
    )
    return {row.sku: _product(row) for row in rows}


async def all_products(conn: AsyncConnection) -> list[Product]:
    rows = await conn.execute(text(f"SELECT {_PRODUCT_COLUMNS} FROM products ORDER BY sku"))
    return [_product(row) for row in rows]


async def vendor_names(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(text("SELECT id, name FROM vendors"))
    return {row.id: row.name for row in rows}


async def category_names(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(text("SELECT id, name FROM categories"))
    return {row.id: row.name for row in rows}


async def all_vendors(conn: AsyncConnection) -> list[Vendor]:
    rows = await conn.execute(text("SELECT id, name, website FROM vendors ORDER BY id"))
    return [Vendor(row.id, row.name, row.website) for row in rows]


async def all_categories(conn: AsyncConnection) -> list[Category]:
    """Every category, parents before children."""
    rows = await conn.execute(
        text(
            "WITH RECURSIVE tree AS ("
            " SELECT id, name, parent_id, 0 AS depth FROM categories WHERE parent_id IS NULL"
            " UNION ALL SELECT c.id, c.name, c.parent_id, t.depth + 1"
            " FROM categories c JOIN tree t ON c.parent_id = t.id)"
            " SELECT id, name, parent_id FROM tree ORDER BY depth, id"
        )
    )
    return [Category(row.id, row.name, row.parent_id) for row in rows]


async def products_of_vendor(conn: AsyncConnection, vendor_id: str) -> list[Product]:
    rows = await conn.execute(
        text(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE vendor_id = :v ORDER BY sku FOR UPDATE"
        ),
        {"v": vendor_id},
    )
    return [_product(row) for row in rows]


async def get_price_rule(conn: AsyncConnection, scope: str, owner_id: Any) -> Any:
    """The stored rule row (revision, adjustments, removed), locked; None if never set."""
    return (
        await conn.execute(
            text(
                "SELECT revision, adjustments, removed FROM price_rules "
                "WHERE scope = :scope AND owner_id = :owner FOR UPDATE"
            ),
            {"scope": scope, "owner": owner_id},
        )
    ).first()


async def save_price_rule(
    conn: AsyncConnection,
    scope: str,
    owner_id: Any,
    revision: int,
    adjustments_json: str,
    removed: bool,
    now: datetime,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO price_rules (scope, owner_id, revision, adjustments, removed, updated_at) "
            "VALUES (:scope, :owner, :revision, CAST(:adjustments AS jsonb), :removed, :now) "
            "ON CONFLICT (scope, owner_id) DO UPDATE SET revision = excluded.revision, "
            "adjustments = excluded.adjustments, removed = excluded.removed, "
            "updated_at = excluded.updated_at"
        ),
        {
            "scope": scope,
            "owner": owner_id,
            "revision": revision,
            "adjustments": adjustments_json,
            "removed": removed,
            "now": now,
        },
    )


async def existing_skus(conn: AsyncConnection, skus: Sequence[str]) -> set[str]:
    if not skus:
        return set()
    rows = await conn.execute(
        text("SELECT sku FROM products WHERE sku = ANY(:skus)"), {"skus": list(skus)}
    )
    return {row.sku for row in rows}


async def get_product(conn: AsyncConnection, sku: str) -> Product | None:
    row = (
        await conn.execute(
            text(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku = :sku"), {"sku": sku}
        )
    ).first()
    return _product(row) if row else None


async def price_rule_lines(conn: AsyncConnection, scope: str, owner_id: Any) -> list[Any] | None:
    """The adjustments of a live rule, or None when there is none (or it was removed)."""
    row = (
        await conn.execute(
            text(
                "SELECT adjustments FROM price_rules "
                "WHERE scope = :scope AND owner_id = :owner AND NOT removed"
            ),
            {"scope": scope, "owner": owner_id},
        )
    ).first()
    if row is None:
        return None
    lines = row.adjustments
    return json.loads(lines) if isinstance(lines, str) else list(lines)


async def category_path(conn: AsyncConnection, category_id: str) -> list[Category]:
    """Root first."""
    rows = await conn.execute(
        text(
            "WITH RECURSIVE up AS ("
            " SELECT id, name, parent_id, 0 AS depth FROM categories WHERE id = :id"
            " UNION ALL SELECT c.id, c.name, c.parent_id, up.depth + 1"
            " FROM categories c JOIN up ON c.id = up.parent_id WHERE up.depth < 32)"
            " SELECT id, name, parent_id FROM up ORDER BY depth DESC"
        ),
        {"id": category_id},
    )
    return [Category(row.id, row.name, row.parent_id) for row in rows]
