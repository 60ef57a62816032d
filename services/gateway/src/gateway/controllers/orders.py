"""Orders: intake with idempotency and ``wait``, reading, listing, cancelling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from gateway.domain.ordering import OrderRequest
from gateway.http.bodies import strict_body
from gateway.http.deps import AuthenticatedPartner
from gateway.http.presenters import decode_order_cursor, order_cursor, order_read
from gateway.http.schemas import OrderCreate, OrderList, OrderRead
from gateway.runtime import Gateway
from gateway.service_layer import ordering

Wait = Annotated[int, QueryParameter(ge=0, le=30, description="Seconds to wait for a final status")]


class OrdersController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]  # noqa: RUF012

    @post(
        "/",
        summary="Place an order (202 pending; with wait=N, 201 once final)",
        status_code=202,
    )
    async def place(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrderCreate],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[OrderRead]:
        data = await strict_body(request, OrderCreate)  # "3" is not a quantity
        order = OrderRequest(
            external_id=data.external_id,
            sku=data.sku,
            quantity=data.quantity,
            test=data.test,
            fields=data.fields,
            callback_url=data.callback_url,
        )
        placed = await (
            ordering.place_and_wait(gateway, partner.partner_id, partner.live, order, wait)
            if wait
            else ordering.place_order(gateway, partner.partner_id, partner.live, order)
        )
        row = placed.row
        final = row.status in ordering.FINAL_STATUSES
        # a replay is 200; a new order is 201 once final, 202 while pending
        status = 200 if not placed.created else 201 if final else 202
        keys = await ordering.order_keys(gateway, row)
        return Response(
            order_read(row, keys),
            status_code=status,
            headers={"Location": f"/api/v1/orders/{row.id}"},
        )

    @get("/{order_id:uuid}", summary="One order; with wait=N, waits until final or N s")
    async def get_order(
        self,
        order_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> OrderRead:
        if wait:
            row = await ordering.wait_until_final(gateway, partner.partner_id, order_id, wait)
        else:
            row = await ordering.read_order(gateway, partner.partner_id, order_id)
        return order_read(row, await ordering.order_keys(gateway, row))

    @get("/", summary="The partner's orders, newest first, keyset-paged")
    async def list_orders(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        external_id: FromQuery[str | None] = None,
        status: FromQuery[
            Literal["pending", "completed", "rejected", "failed", "cancelled"] | None
        ] = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> OrderList:
        rows = await ordering.list_orders(
            gateway,
            partner.partner_id,
            external_id=external_id,
            status=status,
            since=since,
            before=decode_order_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        page = rows[:limit]
        keys = await asyncio.gather(*(ordering.order_keys(gateway, r) for r in page))
        items = [order_read(r, k) for r, k in zip(page, keys, strict=True)]
        return OrderList(
            items=items, next_cursor=order_cursor(page[-1]) if len(rows) > limit else None
        )

    @post(
        "/{order_id:uuid}/cancel",
        status_code=200,
        summary="Cancel while no key is generated (200), else 409 not_cancellable",
    )
    async def cancel(
        self,
        order_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> Response[OrderRead]:
        row = await ordering.cancel_order(gateway, partner.partner_id, order_id)
        return Response(order_read(row), status_code=200 if row.status == "cancelled" else 202)


ROUTES: list[type] = [OrdersController]
