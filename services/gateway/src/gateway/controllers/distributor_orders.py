"""A regional distributor's view of its partners' orders (its own key; nobody else's partners).

The orders are shown as the partner sees them but without keys: activation codes belong to
the partner that bought them. A partner not under this distributor — another distributor's,
a stranger, the distributor itself — answers 404, as if absent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from gateway.adapters import repository
from gateway.http.deps import AuthenticatedPartner
from gateway.http.errors import ApiError
from gateway.http.presenters import decode_order_cursor, order_cursor, order_read
from gateway.http.schemas import OrderList, OrderRead
from gateway.runtime import Gateway
from gateway.service_layer import ordering


async def _under(
    gateway: Gateway, distributor: AuthenticatedPartner, partner_id: uuid.UUID
) -> None:
    async with gateway.service.engine.connect() as conn:
        row = await repository.partner(conn, partner_id)
    if row is None or row.distributor_reseller_id != distributor.reseller_id:
        raise ApiError(404, "not_found", "partner not found")


class DistributorOrdersController(Controller):
    path = "/api/v1/distributor/partners"
    tags = ["distributor"]  # noqa: RUF012

    @get("/{partner_id:uuid}/orders", summary="Orders of a partner under this distributor")
    async def list_orders(
        self,
        partner_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        status: FromQuery[
            Literal["pending", "completed", "rejected", "failed", "cancelled"] | None
        ] = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> OrderList:
        await _under(gateway, partner, partner_id)
        rows = await ordering.list_orders(
            gateway,
            partner_id,
            external_id=None,
            status=status,
            since=since,
            before=decode_order_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        page = rows[:limit]
        return OrderList(
            items=[order_read(r) for r in page],
            next_cursor=order_cursor(page[-1]) if len(rows) > limit else None,
        )

    @get(
        "/{partner_id:uuid}/orders/{order_id:uuid}",
        summary="One order of a partner under this distributor (without keys)",
    )
    async def get_order(
        self,
        partner_id: FromPath[uuid.UUID],
        order_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> OrderRead:
        await _under(gateway, partner, partner_id)
        return order_read(await ordering.read_order(gateway, partner_id, order_id))


ROUTES: list[type] = [DistributorOrdersController]
