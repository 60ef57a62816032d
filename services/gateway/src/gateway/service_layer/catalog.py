"""The catalog as a partner sees it: its prices, its feeds; and ops' catalog work (price lists,
price rules), which the catalog service does and the gateway asks for.

Feeds are streamed: the products come from a server-side cursor in batches and pass through
the pure writers of :mod:`esd_feeds.writers` chunk by chunk, so a 200,000-product catalog never
sits whole in memory. The writers are plain (synchronous) generators that pull offers; the
cursor is asynchronous. SQLAlchemy's own bridge (``greenlet_spawn`` / ``await_only``, the
mechanism of its asyncio extension) lets the writer's pull await the next batch, so the writers
stay pure and format-agnostic here. A feed small enough is kept by its ETag as it is sent and
served again from memory until the catalog or the partner's rules change
(:mod:`gateway.adapters.feed_cache`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from esd_contracts.catalog.commands import (
    ImportPriceList,
    PriceListImported,
    PriceRuleSet,
    SetPriceRule,
)
from esd_contracts.catalog.events import PriceAdjustment, PriceRuleChanged
from esd_feeds.etag import etag_matches, feed_etag
from esd_feeds.offers import Offer, RequiredFieldSpec, Shop, categories_from_paths
from esd_feeds.writers import MEDIA_TYPES, write_feed
from esd_platform.db import Db
from esd_platform.logging import get_logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import await_only, greenlet_spawn

from gateway.adapters import catalog as store
from gateway.adapters import repository
from gateway.adapters.feed_cache import cache_for, replay
from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import NotFound, Unavailable
from gateway.domain.ordering import ProductTerms
from gateway.domain.pricing import PartnerRules, category_ids
from gateway.runtime import Gateway

log = get_logger("esd.gateway.catalog")

FEED_VERSION = 1
"""Part of every feed's ETag: bump it when the writers' output changes for the same data."""
FEED_BATCH = 500
"""Rows fetched from the cursor at a time."""
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FILE_EXTENSIONS = {"json": "json", "xml": "xml", "csv": "csv", "commerceml": "xml", "yml": "xml"}
IMPORT_TIMEOUT = 120.0
"""Seconds an import may take in the catalog service (a vendor's list of thousands of rows)."""

FeedFormat = Literal["json", "xml", "commerceml", "yml", "csv"]


# -- partner prices -----------------------------------------------------------------------------


async def partner_terms(db: Db, partner_id: uuid.UUID, product_row: Row[Any]) -> ProductTerms:
    """What order intake needs of a product, at this partner's price."""
    rules = await store.partner_rules(db, partner_id)
    terms = repository.product_terms(product_row)
    return dataclasses.replace(terms, unit_price=rules.price(product_row))


async def rules_of(conn: AsyncConnection, partner_id: uuid.UUID) -> PartnerRules:
    return await store.partner_rules(conn, partner_id)


# -- feeds --------------------------------------------------------------------------------------


@dataclass
class Feed:
    """A feed answer: its tag, and the body unless the caller's copy is current (304)."""

    etag: str
    media_type: str
    filename: str
    body: AsyncIterator[bytes] | None


async def export_feed(
    gateway: Gateway,
    partner_id: uuid.UUID,
    format: FeedFormat,
    since: datetime | None,
    if_none_match: str | None,
    *,
    ahead: bool = False,
) -> Feed:
    """The partner's feed; ``body`` None when ``If-None-Match`` names the current tag.

    Everything is read in one REPEATABLE READ transaction, so the tag, the category tree and
    the rows (CommerceML reads them twice) are one snapshot of the replica. A whole-catalog
    feed is registered to be rendered ahead after the next change (``ahead``: this is that
    rendering).
    """
    scope = store.FeedScope(since)
    cache = cache_for(gateway.service.engine)
    if since is None and not ahead:
        cache.served((partner_id, format), lambda: render_ahead(gateway, partner_id, format))
    conn = await gateway.service.engine.connect()
    try:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        rules = await store.partner_rules(conn, partner_id)
        state = await store.feed_state(conn, scope)
        etag = feed_etag(
            FEED_VERSION,
            format,
            since.isoformat() if since else None,
            state.products,
            state.revisions,
            state.fingerprint,
            state.latest_change.isoformat() if state.latest_change else None,
            rules.tag,
        )
        media_type = MEDIA_TYPES[format]
        filename = f"catalog.{FILE_EXTENSIONS[format]}"
        if etag_matches(if_none_match, etag):
            await conn.close()
            return Feed(etag, media_type, filename, None)
        kept = await cache.wait_for(etag) if since is None else None
        if kept is not None:
            await conn.close()
            return Feed(etag, media_type, filename, replay(kept))
        paths = await store.feed_category_paths(conn, scope)
    except BaseException:
        await conn.close()
        raise
    body = _stream(
        conn,
        format,
        scope,
        rules,
        paths,
        generated_at=state.latest_change or EPOCH,
        shop=Shop(url=gateway.settings.public_base_url or Shop().url),
    )
    if since is None:  # a whole feed: kept, replacing this partner's older one of the format
        body = cache.keep(etag, body, (partner_id, format))
    return Feed(etag, media_type, filename, body)


async def render_ahead(gateway: Gateway, partner_id: uuid.UUID, format: FeedFormat) -> None:
    """Render the partner's whole feed into the cache, as its next request will want it."""
    feed = await export_feed(gateway, partner_id, format, None, None, ahead=True)
    if feed.body is not None:
        async for _ in feed.body:
            pass


async def _stream(
    conn: AsyncConnection,
    format: FeedFormat,
    scope: store.FeedScope,
    rules: PartnerRules,
    paths: Sequence[Any],
    *,
    generated_at: datetime,
    shop: Shop,
) -> AsyncIterator[bytes]:
    """The feed's UTF-8 chunks; owns ``conn`` and closes it when done or abandoned."""
    sql, params = store.feed_rows_sql(scope)

    paths_by_json: dict[str, tuple[str, ...]] = {}
    fields_by_json: dict[str, tuple[RequiredFieldSpec, ...]] = {}

    def offers() -> Iterator[Offer]:
        # runs inside greenlet_spawn: await_only suspends this pull until the batch arrives
        result = await_only(conn.stream(sql, params))
        while True:
            rows = await_only(result.fetchmany(FEED_BATCH))
            if not rows:
                return
            for row in rows:
                categories = paths_by_json.get(row.path_json)
                if categories is None:
                    categories = category_ids(json.loads(row.path_json))
                    paths_by_json[row.path_json] = categories
                fields = fields_by_json.get(row.fields_json)
                if fields is None:
                    fields = required_fields_of(json.loads(row.fields_json))
                    fields_by_json[row.fields_json] = fields
                yield Offer(
                    sku=row.sku,
                    name=row.name,
                    vendor=row.vendor,
                    version=row.version,
                    category=row.category,
                    kind=row.kind,
                    price=rules.price_of(row.sku, row.vendor_id, row.base_price, categories),
                    vat_rate=row.vat_rate,
                    download_url=row.download_url,
                    active=row.active,
                    vendor_id=row.vendor_id,
                    category_id=row.category_id,
                    required_fields=fields,
                )

    chunks = write_feed(
        format,
        offers,
        categories_from_paths(paths),
        generated_at=generated_at,
        only_changes=scope.since is not None,
        shop=shop,
    )
    try:
        while True:
            chunk = await greenlet_spawn(next, chunks, None)
            if chunk is None:
                break
            yield chunk.encode()
    finally:
        await conn.close()


def required_fields_of(lines: Any) -> tuple[RequiredFieldSpec, ...]:
    return tuple(
        RequiredFieldSpec(str(f["name"]), str(f.get("title") or f["name"]), str(f["pattern"]))
        for f in lines or ()
    )


def parse_since(value: str | None) -> datetime | None:
    """``since`` as an aware datetime; ValueError for anything else. A '+' that a query string
    turned into a space is read back as '+'."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        raise ValueError("since needs a UTC offset, e.g. 2026-01-01T00:00:00+03:00")
    return moment


# -- ops: price lists and price rules -----------------------------------------------------------


async def import_price_list(
    gateway: Gateway,
    content: bytes,
    format: Literal["csv", "json"],
    *,
    filename: str | None,
    vendor: str | None,
    retire_missing: bool,
    retire_predecessors: bool,
    dry_run: bool,
) -> PriceListImported:
    """Ask the catalog to import a price list (bytes as sent: UTF-8 or Windows-1251)."""
    command = ImportPriceList(
        correlation_id=uuid.uuid4(),
        occurred_at=gateway.service.clock.now(),
        format=format,
        content_base64=base64.b64encode(content).decode(),
        filename=filename,
        vendor=vendor,
        retire_missing=retire_missing,
        retire_predecessors=retire_predecessors,
        dry_run=dry_run,
    )
    try:
        return await gateway.queries.ask(command, PriceListImported, seconds=IMPORT_TIMEOUT)
    except QueryFailed as exc:
        raise Unavailable("the catalog service did not answer; retry the same import") from exc


@dataclass(frozen=True)
class RuleOutcome:
    answer: PriceRuleSet
    adjustments: tuple[PriceAdjustment, ...]


async def set_price_rule(
    gateway: Gateway,
    scope: Literal["partner", "distributor"],
    owner_id: uuid.UUID,
    adjustments: tuple[PriceAdjustment, ...],
    *,
    remove: bool = False,
) -> RuleOutcome:
    """Set (replace) or remove a partner's or a distributor's price rule in the catalog.

    Once accepted, the gateway's own copy is updated at once (read-your-writes); the catalog's
    ``PriceRuleChanged`` then finds it current. Also the way for a distributor's endpoint.
    """
    service = gateway.service
    async with service.engine.connect() as conn:
        if not await store.partner_exists(conn, owner_id):
            raise NotFound("partner")
    now = service.clock.now()
    try:
        answer = await gateway.queries.ask(
            SetPriceRule(
                correlation_id=owner_id,
                occurred_at=now,
                scope=scope,
                owner_id=owner_id,
                adjustments=() if remove else adjustments,
                remove=remove,
            ),
            PriceRuleSet,
        )
    except QueryFailed as exc:
        raise Unavailable("the catalog service did not answer; retry the same request") from exc
    if answer.accepted and answer.revision > 0:
        async with service.uow.transaction() as tx:
            await store.upsert_price_rule(
                tx.conn,
                PriceRuleChanged(
                    correlation_id=owner_id,
                    occurred_at=now,
                    scope=scope,
                    owner_id=owner_id,
                    revision=answer.revision,
                    adjustments=() if remove else adjustments,
                    removed=remove,
                ),
            )
    log.info(
        "price_rule_requested",
        scope=scope,
        owner_id=str(owner_id),
        accepted=answer.accepted,
        revision=answer.revision,
    )
    return RuleOutcome(answer, () if remove else adjustments)


def as_money(value: Decimal) -> str:
    return f"{value:.2f}"
