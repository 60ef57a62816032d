"""SQL of the catalog as partners see it: the product replica, the replicated price rules,
search, and the rows of a feed (Core ``text()`` only; search_path is the gateway schema).

Search matches every word of the query against ``search_text``, which is normalised in Python
(:func:`esd_feeds.search.search_text`: casefolded, 'ё' as 'е') when the product is written,
because PostgreSQL's ``lower()`` folds Cyrillic only under a UTF-8 collation.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esd_contracts.catalog.events import PriceRuleChanged, ProductChanged
from esd_feeds.search import like_pattern, normalize, query_terms, search_text
from esd_platform.db import Db, Statement
from sqlalchemy import Connection, Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.pricing import PartnerRules, rule_of

# -- product replica ----------------------------------------------------------------------------

_UPSERT_PRODUCT = text(
    "INSERT INTO products (sku, revision, name, vendor, version, category, kind, base_price, "
    "vat_rate, required_fields, download_url, key_source, active, updated_at, vendor_id, "
    "category_id, category_path, vat_basis, predecessor_sku, vendor_key, search_text) VALUES "
    "(:sku, :revision, :name, :vendor, :version, :category, :kind, :base_price, :vat_rate, "
    "CAST(:required_fields AS jsonb), :download_url, :key_source, :active, :updated_at, "
    ":vendor_id, :category_id, CAST(:category_path AS jsonb), :vat_basis, :predecessor_sku, "
    ":vendor_key, :search_text) "
    "ON CONFLICT (sku) DO UPDATE SET revision = excluded.revision, name = excluded.name, "
    "vendor = excluded.vendor, version = excluded.version, category = excluded.category, "
    "kind = excluded.kind, base_price = excluded.base_price, vat_rate = excluded.vat_rate, "
    "required_fields = excluded.required_fields, download_url = excluded.download_url, "
    "key_source = excluded.key_source, active = excluded.active, "
    "updated_at = excluded.updated_at, vendor_id = excluded.vendor_id, "
    "category_id = excluded.category_id, category_path = excluded.category_path, "
    "vat_basis = excluded.vat_basis, predecessor_sku = excluded.predecessor_sku, "
    "vendor_key = excluded.vendor_key, search_text = excluded.search_text "
    "WHERE products.revision < excluded.revision"
)


def category_path_of(event: ProductChanged) -> list[dict[str, str]]:
    """The product's category path, root first; a product that carries only a category name
    gets a one-node path with an id derived from that name (stable across feeds)."""
    if event.category_path:
        return [{"id": node.id, "name": node.name} for node in event.category_path]
    if not event.category:
        return []
    category_id = event.category_id or (
        "c-" + hashlib.sha256(normalize(event.category).encode()).hexdigest()[:12]
    )
    return [{"id": category_id, "name": event.category}]


async def upsert_product(conn: AsyncConnection, event: ProductChanged) -> bool:
    """Apply a product change unless the replica holds the same or a newer revision."""
    path = category_path_of(event)
    result = await conn.execute(
        _UPSERT_PRODUCT,
        {
            "sku": event.sku,
            "revision": event.revision,
            "name": event.name,
            "vendor": event.vendor,
            "version": event.version,
            "category": event.category,
            "kind": event.kind,
            "base_price": event.base_price,
            "vat_rate": event.vat_rate,
            "required_fields": json.dumps(
                [f.model_dump() for f in event.required_fields], ensure_ascii=False
            ),
            "download_url": event.download_url,
            "key_source": event.key_source,
            "active": event.active,
            "updated_at": event.occurred_at,
            "vendor_id": event.vendor_id,
            "category_id": path[-1]["id"] if path else event.category_id,
            "category_path": json.dumps(path, ensure_ascii=False),
            "vat_basis": event.vat_basis,
            "predecessor_sku": event.predecessor_sku,
            "vendor_key": normalize(event.vendor),
            "search_text": search_text(
                event.sku, event.name, event.vendor, [node["name"] for node in path]
            ),
        },
    )
    return bool(result.rowcount)


def refresh_search_text(conn: Connection) -> int:
    """Write every replicated product's ``search_text`` again, as :func:`upsert_product` now
    would (a migration's step when what is searched changes); returns how many rows. Sync: a
    migration's connection."""
    rows = conn.execute(
        text("SELECT sku, name, vendor, category_path::text AS path FROM products")
    ).all()
    values = [
        {
            "sku": row.sku,
            "search_text": search_text(
                row.sku, row.name, row.vendor, [node["name"] for node in json.loads(row.path)]
            ),
        }
        for row in rows
    ]
    if values:
        update = text("UPDATE products SET search_text = :search_text WHERE sku = :sku")
        conn.execute(update, values)
    return len(values)


# -- price rules --------------------------------------------------------------------------------

_UPSERT_RULE = text(
    "INSERT INTO price_rules (scope, owner_id, revision, adjustments, removed, updated_at) "
    "VALUES (:scope, :owner_id, :revision, CAST(:adjustments AS jsonb), :removed, :updated_at) "
    "ON CONFLICT (scope, owner_id) DO UPDATE SET revision = excluded.revision, "
    "adjustments = excluded.adjustments, removed = excluded.removed, "
    "updated_at = excluded.updated_at WHERE price_rules.revision < excluded.revision"
)


async def upsert_price_rule(conn: AsyncConnection, event: PriceRuleChanged) -> bool:
    """Apply a rule change unless the replica holds the same or a newer revision."""
    lines = [] if event.removed else [json.loads(a.model_dump_json()) for a in event.adjustments]
    result = await conn.execute(
        _UPSERT_RULE,
        {
            "scope": event.scope,
            "owner_id": event.owner_id,
            "revision": event.revision,
            "adjustments": json.dumps(lines),
            "removed": event.removed,
            "updated_at": event.occurred_at,
        },
    )
    return bool(result.rowcount)


_RULES_OF_PARTNER = Statement(
    "SELECT scope, owner_id, revision, adjustments, removed FROM price_rules "
    "WHERE (scope = 'partner' AND owner_id = :partner_id) OR (scope = 'distributor' AND "
    "owner_id = (SELECT d.partner_id FROM partners p JOIN partners d "
    "ON d.reseller_id = p.distributor_reseller_id WHERE p.partner_id = :partner_id))"
)


async def partner_rules(db: Db, partner_id: uuid.UUID) -> PartnerRules:
    """The rules that price this partner's products: its own and its distributor's."""
    rows = await _RULES_OF_PARTNER.all(db, {"partner_id": partner_id})
    own = next((r for r in rows if r.scope == "partner"), None)
    distributor = next((r for r in rows if r.scope == "distributor"), None)
    return PartnerRules(
        own=rule_of(own.adjustments, own.removed) if own else None,
        distributor=rule_of(distributor.adjustments, distributor.removed) if distributor else None,
        tag=tuple(sorted((r.scope, str(r.owner_id), r.revision) for r in rows)),
    )


async def price_rule(conn: AsyncConnection, scope: str, owner_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM price_rules WHERE scope = :scope AND owner_id = :owner_id"),
            {"scope": scope, "owner_id": owner_id},
        )
    ).first()


async def partner_exists(conn: AsyncConnection, partner_id: uuid.UUID) -> bool:
    found = await conn.execute(
        text("SELECT 1 FROM partners WHERE partner_id = :id"), {"id": partner_id}
    )
    return found.first() is not None


# -- search and paging --------------------------------------------------------------------------


async def search_products(
    conn: AsyncConnection,
    *,
    vendor: str | None,
    q: str | None,
    kind: str | None,
    after_sku: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Products by sku after ``after_sku``: keyset paging, so a page never repeats or skips a
    product that existed before the first page, whatever is added or changed meanwhile."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if vendor:
        clauses.append("(vendor_key = :vendor_key OR vendor_id = :vendor_id)")
        params["vendor_key"] = normalize(vendor)
        params["vendor_id"] = vendor.strip().lower()
    if kind:
        clauses.append("kind = :kind")
        params["kind"] = kind
    for index, terms in enumerate(query_terms(q or "")):
        names = [f"w{index}_{alternative}" for alternative in range(len(terms))]
        clauses.append(
            "(" + " OR ".join(f"search_text LIKE :{name} ESCAPE '\\'" for name in names) + ")"
        )
        params.update({name: like_pattern(term) for name, term in zip(names, terms, strict=True)})
    if after_sku is not None:
        clauses.append("sku > :after")
        params["after"] = after_sku
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT * FROM products{where} ORDER BY sku LIMIT :limit"
    return (await conn.execute(text(sql), params)).all()


# -- feeds --------------------------------------------------------------------------------------

FEED_COLUMNS = (
    "sku, name, vendor, version, category, kind, base_price, vat_rate, download_url, active, "
    "vendor_id, category_id, required_fields::text AS fields_json, "
    "category_path::text AS path_json"
)
"""A feed's columns; the JSON ones as text, decoded once per distinct value by the caller
(a catalog has a few dozen category paths, and most products require no fields)."""


@dataclass(frozen=True)
class FeedScope:
    """Which products a feed lists: the active catalog, or every change after ``since``
    (retired products included, as inactive, so a shop can take them down)."""

    since: datetime | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        if self.since is None:
            return "active", {}
        return "updated_at > :since", {"since": self.since}


@dataclass(frozen=True)
class FeedState:
    """What a feed's bytes depend on, besides format and price rules."""

    products: int
    revisions: int
    fingerprint: int
    """Sum of a hash of every listed (sku, revision): any change of the set changes it."""
    latest_change: datetime | None


async def feed_state(conn: AsyncConnection, scope: FeedScope) -> FeedState:
    where, params = scope.where()
    row = (
        await conn.execute(
            text(
                f"SELECT count(*) AS products, coalesce(sum(revision), 0) AS revisions, "
                f"coalesce(sum(hashtextextended(sku || ':' || revision::text, 0)), 0) "
                f"AS fingerprint, (SELECT max(updated_at) FROM products) AS latest "
                f"FROM products WHERE {where}"
            ),
            params,
        )
    ).one()
    return FeedState(int(row.products), int(row.revisions), int(row.fingerprint), row.latest)


async def feed_category_paths(conn: AsyncConnection, scope: FeedScope) -> list[Any]:
    where, params = scope.where()
    sql = f"SELECT DISTINCT category_path FROM products WHERE {where}"
    return [row.category_path for row in (await conn.execute(text(sql), params)).all()]


def feed_rows_sql(scope: FeedScope) -> tuple[Any, dict[str, Any]]:
    """The streaming query of a feed's products, by sku."""
    where, params = scope.where()
    return text(f"SELECT {FEED_COLUMNS} FROM products WHERE {where} ORDER BY sku"), params
