"""The catalog as partners see it (from the gateway's replica, at the partner's prices), its
feeds for partners' shops, and ops' catalog work: price-list imports and price rules."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from esd_contracts.catalog.events import PriceAdjustment
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from sqlalchemy import Row

from gateway.adapters import catalog as store
from gateway.adapters import repository
from gateway.domain.errors import NotFound
from gateway.domain.pricing import PartnerRules, money
from gateway.http.catalog_schemas import PriceAdjustmentRead, PriceRuleBody, PriceRuleRead
from gateway.http.deps import AuthenticatedPartner, ops_guard
from gateway.http.errors import ApiError
from gateway.http.presenters import decode_cursor, encode_cursor
from gateway.http.schemas import ProductList, ProductRead, RequiredFieldRead
from gateway.runtime import Gateway
from gateway.service_layer import catalog

MAX_IMPORT_BYTES = 20 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


def product_at_price(row: Row[Any], rules: PartnerRules) -> ProductRead:
    """The spec's product resource, ``price`` being this partner's price after its terms."""
    return ProductRead(
        sku=row.sku,
        name=row.name,
        vendor=row.vendor,
        version=row.version,
        category=row.category,
        kind=row.kind,
        price=money(rules.price(row)),
        currency="RUB",
        vat_rate=row.vat_rate,
        required_fields=[RequiredFieldRead(**f) for f in row.required_fields or ()],
        download_url=row.download_url,
        active=row.active,
    )


class CatalogController(Controller):
    path = "/api/v1/catalog"
    tags = ["catalog"]  # noqa: RUF012

    @get("/products", summary="Products at this partner's prices; search, filters, cursor paging")
    async def list_products(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        vendor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        kind: FromQuery[Literal["key", "subscription"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> ProductList:
        """``q``: every word must occur in the sku, name, vendor or a category's name (any
        case, Russian or English, 'ё' = 'е'; a brand in either alphabet). Pages are ordered by
        sku and continue after the cursor's sku, so paging stays stable while products are
        added or changed."""
        after = decode_cursor(cursor) if cursor else None
        async with gateway.service.engine.connect() as conn:
            rules = await catalog.rules_of(conn, partner.partner_id)
            rows = await store.search_products(
                conn, vendor=vendor, q=q, kind=kind, after_sku=after, limit=limit + 1
            )
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].sku) if len(rows) > limit else None
        return ProductList(
            items=[product_at_price(r, rules) for r in page], next_cursor=next_cursor
        )

    @get("/products/{sku:str}", summary="One product at this partner's price")
    async def get_product(
        self,
        sku: FromPath[str],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> ProductRead:
        async with gateway.service.engine.connect() as conn:
            row = await repository.product(conn, sku)
            if row is None:
                raise NotFound("product")
            rules = await catalog.rules_of(conn, partner.partner_id)
        return product_at_price(row, rules)

    @get(
        "/export",
        summary="The active catalog at this partner's prices as a feed for its shop",
        description="json, xml, csv (UTF-8 with BOM, ';'), commerceml (1C CommerceML 2) or yml "
        "(Yandex Market); without `format`, xml for `Accept: application/xml`, else json. "
        "Streamed. `ETag` on every answer, `If-None-Match` with it → 304. "
        "`since` (ISO 8601 with offset): only products changed after it, retired ones "
        "included as inactive.",
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        format: FromQuery[catalog.FeedFormat | None] = None,
        since: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Response[Any]:
        try:
            moment = catalog.parse_since(since)
        except ValueError as exc:
            raise ApiError(
                422,
                "validation_error",
                "since must be an ISO 8601 time with an offset, e.g. 2026-01-01T00:00:00+03:00",
            ) from exc
        if format is None:  # the API's XML convention: Accept: application/xml → the XML feed
            format = "xml" if "xml" in request.headers.get("accept", "") else "json"
        feed = await catalog.export_feed(
            gateway,
            partner.partner_id,
            format,
            moment,
            request.headers.get("if-none-match"),
        )
        headers = {
            "ETag": feed.etag,
            "Cache-Control": "private, no-cache",
            "Vary": "Authorization",
        }
        if feed.body is None:
            return Response(content=b"", status_code=304, headers=headers)
        headers["Content-Disposition"] = f'inline; filename="{feed.filename}"'
        return Stream(feed.body, media_type=feed.media_type, headers=headers)


def _adjustment(line: Any) -> PriceAdjustment:
    for value in (line.percent, line.fixed_price):
        if value is not None and not Decimal(value).is_finite():
            raise ApiError(422, "validation_error", "percent and fixed_price must be numbers")
    return PriceAdjustment(
        percent=line.percent,
        fixed_price=line.fixed_price,
        sku=line.sku,
        vendor_id=line.vendor_id,
        category_id=line.category_id,
    )


def _adjustment_read(line: dict[str, Any] | PriceAdjustment) -> PriceAdjustmentRead:
    data = line if isinstance(line, dict) else line.model_dump(mode="json")

    def number(key: str, places: bool) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        return money(Decimal(str(value))) if places else str(Decimal(str(value)).normalize())

    return PriceAdjustmentRead(
        percent=number("percent", places=False),
        fixed_price=number("fixed_price", places=True),
        sku=data.get("sku"),
        vendor_id=data.get("vendor_id"),
        category_id=data.get("category_id"),
    )


async def _set_rule(
    gateway: Gateway,
    scope: Literal["partner", "distributor"],
    owner_id: uuid.UUID,
    body: PriceRuleBody | None,
) -> PriceRuleRead:
    adjustments = tuple(_adjustment(a) for a in body.adjustments) if body else ()
    outcome = await catalog.set_price_rule(
        gateway, scope, owner_id, adjustments, remove=body is None
    )
    if not outcome.answer.accepted:
        raise ApiError(
            422,
            "validation_error",
            "; ".join(outcome.answer.problems) or "the price rule was refused",
            extra={"problems": list(outcome.answer.problems)},
        )
    return PriceRuleRead(
        scope=scope,
        owner_id=owner_id,
        revision=outcome.answer.revision,
        adjustments=[_adjustment_read(a) for a in outcome.adjustments],
        removed=body is None,
    )


apply_price_rule = _set_rule
"""Set (or with ``None`` remove) a rule; also the distributor's terms endpoint's way."""


async def _read_rule(
    gateway: Gateway, scope: Literal["partner", "distributor"], owner_id: uuid.UUID
) -> PriceRuleRead:
    async with gateway.service.engine.connect() as conn:
        row = await store.price_rule(conn, scope, owner_id)
    if row is None:
        raise NotFound("price rule")
    return PriceRuleRead(
        scope=scope,
        owner_id=owner_id,
        revision=row.revision,
        adjustments=[_adjustment_read(a) for a in row.adjustments or ()],
        removed=row.removed,
    )


class CatalogAdminController(Controller):
    path = "/api/v1/admin"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @post(
        "/catalog/import",
        status_code=200,
        summary="Import a vendor's price list (CSV or JSON): upsert by sku, a report per row",
        description="The body is the file as is: `Content-Type: text/csv` (UTF-8 or "
        "Windows-1251, ',' or ';', decimal commas) or `application/json`; `format` overrides "
        "the content type. The report lists what was added, changed, retired and refused (line "
        "and reason); a bad row never stops the good ones. A file with no readable row is 422.",
    )
    async def import_price_list(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        format: FromQuery[Literal["csv", "json"] | None] = None,
        vendor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        filename: Annotated[str | None, QueryParameter(max_length=300)] = None,
        retire_missing: FromQuery[bool] = False,
        retire_predecessors: FromQuery[bool] = False,
        dry_run: FromQuery[bool] = False,
    ) -> Response[dict[str, Any]]:
        content = await request.body()
        if not content.strip():
            raise ApiError(422, "validation_error", "the price list is empty")
        if len(content) > MAX_IMPORT_BYTES:
            raise ApiError(413, "validation_error", "the price list is larger than 20 MiB")
        kind = format or _format_of(request.headers.get("content-type", ""))
        if retire_missing and not vendor:
            raise ApiError(
                422, "validation_error", "retire_missing needs the vendor whose complete list it is"
            )
        report = await catalog.import_price_list(
            gateway,
            content,
            kind,
            filename=filename,
            vendor=vendor,
            retire_missing=retire_missing,
            retire_predecessors=retire_predecessors,
            dry_run=dry_run,
        )
        body = report.model_dump(mode="json")
        applied = report.added or report.changed or report.retired or report.unchanged
        if report.rows == 0 or (len(report.refused) >= report.rows and not applied):
            reason = "; ".join(r.reason for r in report.refused[:3]) or "no rows"
            raise ApiError(
                422, "validation_error", f"nothing could be imported: {reason}", extra=body
            )
        return Response(body, status_code=200)

    @get("/partners/{partner_id:uuid}/price-rule", summary="A partner's own price rule")
    async def partner_rule(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PriceRuleRead:
        return await _read_rule(gateway, "partner", partner_id)

    @put(
        "/partners/{partner_id:uuid}/price-rule",
        summary="Set (replace) a partner's own price rule",
        description="Lines: a percent (negative = discount) or a fixed price per sku, aimed at "
        "a sku, a vendor, a category or everything. The partner's own rule wins over its "
        "distributor's; within a rule the most specific line wins.",
    )
    async def set_partner_rule(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[PriceRuleBody],
        gateway: NamedDependency[Gateway],
    ) -> PriceRuleRead:
        return await _set_rule(gateway, "partner", partner_id, data)

    @delete("/partners/{partner_id:uuid}/price-rule", status_code=200, summary="Remove it")
    async def remove_partner_rule(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PriceRuleRead:
        return await _set_rule(gateway, "partner", partner_id, None)

    @get(
        "/distributors/{partner_id:uuid}/price-rule",
        summary="A regional distributor's rule for the partners under it",
    )
    async def distributor_rule(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PriceRuleRead:
        return await _read_rule(gateway, "distributor", partner_id)

    @put(
        "/distributors/{partner_id:uuid}/price-rule",
        summary="Set (replace) the price rule of every partner under a regional distributor",
    )
    async def set_distributor_rule(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[PriceRuleBody],
        gateway: NamedDependency[Gateway],
    ) -> PriceRuleRead:
        return await _set_rule(gateway, "distributor", partner_id, data)

    @delete("/distributors/{partner_id:uuid}/price-rule", status_code=200, summary="Remove it")
    async def remove_distributor_rule(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PriceRuleRead:
        return await _set_rule(gateway, "distributor", partner_id, None)


def _format_of(content_type: str) -> Literal["csv", "json"]:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media in CSV_TYPES:
        return "csv"
    raise ApiError(
        415,
        "validation_error",
        "send the price list as text/csv or application/json (or name it with ?format=)",
    )


ROUTES: list[type] = [CatalogController, CatalogAdminController]
