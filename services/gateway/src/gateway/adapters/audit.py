"""SQL of the ops audit log (table ``audit_log``): append and page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def append(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    method: str,
    path: str,
    status: int,
    summary: Mapping[str, Any],
) -> None:
    await conn.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, target, method, path, status, summary) "
            "VALUES (:at, :actor, :action, :target, :method, :path, :status, "
            "CAST(:summary AS jsonb))"
        ),
        {
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "method": method,
            "path": path,
            "status": status,
            "summary": json.dumps(summary, ensure_ascii=False, default=str),
        },
    )


async def page(
    conn: AsyncConnection,
    *,
    target: str | None,
    action: str | None,
    since: datetime | None,
    after_seq: int | None,
    limit: int,
) -> list[Row[Any]]:
    """Newest first; ``after_seq`` is the cursor (entries older than it)."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if target:
        where.append("target = :target")
        params["target"] = target
    if action:
        where.append("action = :action")
        params["action"] = action
    if since is not None:
        where.append("at >= :since")
        params["since"] = since
    if after_seq is not None:
        where.append("seq < :after")
        params["after"] = after_seq
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC LIMIT :limit"
    return list((await conn.execute(text(sql), params)).all())
