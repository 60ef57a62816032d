"""HTTP bodies of the partner's webhook delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

DeliveryStatus = Literal["pending", "delivered", "failed"]


class DeliveryRead(msgspec.Struct):
    id: Annotated[uuid.UUID, msgspec.Meta(description="Also sent as X-Esd-Delivery")]
    order_id: uuid.UUID
    event: Annotated[
        Literal["order.completed", "order.rejected", "order.failed", "order.cancelled"],
        msgspec.Meta(description="Also sent as X-Esd-Event"),
    ]
    url: str
    status: Annotated[
        DeliveryStatus,
        msgspec.Meta(description="pending (retrying), delivered (2xx), failed (retries over)"),
    ]
    attempts: Annotated[int, msgspec.Meta(description="POSTs made so far")]
    created_at: datetime
    next_attempt_at: Annotated[
        datetime | None, msgspec.Meta(description="When the next POST is due (pending only)")
    ] = None
    last_attempt_at: datetime | None = None
    last_response_code: Annotated[
        int | None, msgspec.Meta(description="HTTP status of the last answer; none if no answer")
    ] = None
    last_error: Annotated[str | None, msgspec.Meta(description="Why the last attempt failed")] = (
        None
    )
    delivered_at: datetime | None = None


class DeliveryList(msgspec.Struct):
    items: list[DeliveryRead]
