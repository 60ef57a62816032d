"""The catalog as partners see it, from the gateway's replica."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from gateway.adapters import repository
from gateway.domain.errors import NotFound
from gateway.http.deps import AuthenticatedPartner
from gateway.http.presenters import decode_cursor, encode_cursor, product_read
from gateway.http.schemas import ProductList, ProductRead
from gateway.runtime import Gateway


class CatalogController(Controller):
    path = "/api/v1/catalog"
    tags = ["catalog"]  # noqa: RUF012

    @get("/products", summary="Products, filtered, keyset-paged by sku")
    async def list_products(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        vendor: FromQuery[str | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        kind: FromQuery[Literal["key", "subscription"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> ProductList:
        after = decode_cursor(cursor) if cursor else None
        async with gateway.service.engine.connect() as conn:
            rows = await repository.list_products(
                conn, vendor=vendor, q=q, kind=kind, after_sku=after, limit=limit + 1
            )
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].sku) if len(rows) > limit else None
        return ProductList(items=[product_read(r) for r in page], next_cursor=next_cursor)

    @get("/products/{sku:str}", summary="One product")
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
        return product_read(row)


ROUTES: list[type] = [CatalogController]
