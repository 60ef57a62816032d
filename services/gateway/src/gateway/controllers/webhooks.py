"""Webhooks: the partner's delivery log and redelivery of signed order callbacks."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy import Row

from gateway.http.deps import AuthenticatedPartner
from gateway.http.webhooks_schemas import DeliveryList, DeliveryRead, DeliveryStatus
from gateway.runtime import Gateway
from gateway.service_layer import webhooks


def delivery_read(row: Row[Any]) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        order_id=row.order_id,
        event=row.event,
        url=row.url,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_attempt_at=row.last_attempt_at,
        last_response_code=row.last_response_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


class WebhooksController(Controller):
    path = "/api/v1/webhooks/deliveries"
    tags = ["webhooks"]  # noqa: RUF012

    @get("/", summary="The partner's webhook deliveries, newest first")
    async def list_deliveries(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        status: FromQuery[DeliveryStatus | None] = None,
        order_id: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> DeliveryList:
        rows = await webhooks.list_deliveries(
            gateway, partner.partner_id, status=status, order_id=order_id, limit=limit
        )
        return DeliveryList(items=[delivery_read(r) for r in rows])

    @post(
        "/{delivery_id:uuid}/redeliver",
        status_code=200,
        summary="Send a delivery again now (pending, fresh 24 h retry window)",
    )
    async def redeliver(
        self,
        delivery_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> DeliveryRead:
        return delivery_read(await webhooks.redeliver(gateway, partner.partner_id, delivery_id))


ROUTES: list[type] = [WebhooksController]
