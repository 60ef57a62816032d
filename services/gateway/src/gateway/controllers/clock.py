"""The test clock (ESD_ENV=test only; in any other environment the route does not exist)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from esd_contracts.platform.events import ClockSet
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy import text

from gateway.http.deps import ops_guard
from gateway.http.errors import ApiError
from gateway.http.schemas import ClockRead, ClockUpdate
from gateway.runtime import Gateway

_SAVE = text(
    "INSERT INTO clock_setting (id, now, set_at) VALUES (true, :now, now()) "
    "ON CONFLICT (id) DO UPDATE SET now = excluded.now, set_at = excluded.set_at"
)


class ClockController(Controller):
    path = "/api/v1/admin/clock"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @post("/", status_code=200, summary="Move every service's clock (test env only)")
    async def set_clock(
        self, data: JSONBody[ClockUpdate], gateway: NamedDependency[Gateway]
    ) -> ClockRead:
        service = gateway.service
        if data.now is not None and data.advance_days is not None:
            raise ApiError(422, "validation_error", "send either now or advance_days, not both")
        if data.now is not None:
            if data.now.tzinfo is None:
                raise ApiError(422, "validation_error", "now needs a UTC offset")
            now = data.now
        elif data.advance_days is not None:
            now = service.clock.now() + timedelta(days=data.advance_days)
        else:
            raise ApiError(422, "validation_error", "send now or advance_days")
        service.clock.set(now)
        async with service.uow.transaction() as tx:
            await tx.conn.execute(_SAVE, {"now": now})
            tx.publish(ClockSet(correlation_id=uuid.uuid4(), occurred_at=now, now=now))
        return ClockRead(now=now)


ROUTES: list[type] = [ClockController]
