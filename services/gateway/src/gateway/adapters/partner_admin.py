"""SQL of ops' partner settings beyond onboarding: the signed contract and the request budget."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def partner_for_update(conn: AsyncConnection, partner_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM partners WHERE partner_id = :id FOR UPDATE"), {"id": partner_id}
        )
    ).first()


async def record_contract(
    conn: AsyncConnection, partner_id: uuid.UUID, number: str, signed_on: date, at: datetime
) -> Row[Any] | None:
    return (
        await conn.execute(
            text(
                "UPDATE partners SET contract_number = :number, contract_date = :signed_on, "
                "contract_recorded_at = :at WHERE partner_id = :id RETURNING *"
            ),
            {"id": partner_id, "number": number, "signed_on": signed_on, "at": at},
        )
    ).first()


async def set_rate_limit(
    conn: AsyncConnection, partner_id: uuid.UUID, per_minute: int | None
) -> Row[Any] | None:
    return (
        await conn.execute(
            text(
                "UPDATE partners SET rate_per_minute = :per_minute WHERE partner_id = :id "
                "RETURNING *"
            ),
            {"id": partner_id, "per_minute": per_minute},
        )
    ).first()


async def rate_per_minute(conn: AsyncConnection, partner_id: str) -> int | None:
    """The partner's own budget, None for the default (or an unknown partner)."""
    value = (
        await conn.execute(
            text("SELECT rate_per_minute FROM partners WHERE partner_id = CAST(:id AS uuid)"),
            {"id": partner_id},
        )
    ).scalar()
    return int(value) if value is not None else None
