"""The partner's side of webhooks: its delivery log and redelivery."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row

from gateway.adapters import webhooks as store
from gateway.domain.errors import NotFound
from gateway.runtime import Gateway


async def list_deliveries(
    gateway: Gateway,
    partner_id: uuid.UUID,
    *,
    status: str | None,
    order_id: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    async with gateway.service.engine.connect() as conn:
        return list(
            await store.list_for_partner(
                conn, partner_id, status=status, order_id=order_id, limit=limit
            )
        )


async def redeliver(gateway: Gateway, partner_id: uuid.UUID, delivery_id: uuid.UUID) -> Row[Any]:
    """Due again now, with a fresh retry window; another partner's delivery is not found."""
    async with gateway.service.engine.begin() as conn:
        row = await store.redeliver(conn, partner_id, delivery_id, gateway.service.clock.now())
    if row is None:
        raise NotFound("delivery")
    return row
