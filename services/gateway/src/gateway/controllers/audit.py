"""The audit log of ops actions (recorded by :mod:`gateway.http.audit`), for ops to read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from gateway.adapters import audit as store
from gateway.http.admin_schemas import AuditEntry, AuditPage
from gateway.http.deps import ops_guard
from gateway.http.errors import ApiError
from gateway.runtime import Gateway


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise ApiError(422, "validation_error", "cursor is not one this endpoint gave")
    return int(value)


class AuditController(Controller):
    path = "/api/v1/admin/audit"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @get("/", summary="Ops actions, newest first: who, what, on which target, with what result")
    async def list_entries(
        self,
        gateway: NamedDependency[Gateway],
        target: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        cursor: FromQuery[str | None] = None,
    ) -> AuditPage:
        if since is not None and since.tzinfo is None:
            raise ApiError(422, "validation_error", "since needs a UTC offset")
        async with gateway.service.engine.connect() as conn:
            rows = await store.page(
                conn,
                target=target,
                action=action,
                since=since,
                after_seq=_cursor(cursor),
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(
            items=[
                AuditEntry(
                    seq=r.seq,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    method=r.method,
                    path=r.path,
                    status=r.status,
                    summary=r.summary,
                )
                for r in rows
            ],
            next_cursor=str(rows[-1].seq) if more and rows else None,
        )


ROUTES: list[type] = [AuditController]
