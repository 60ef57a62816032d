"""The portal's own tables (users, sessions, set-password links) and the few reads of the
gateway's tables only the portal needs (a partner's API keys, the filter choices)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def user_by_email(conn: AsyncConnection, email: str) -> Row[Any] | None:
    sql = text("SELECT * FROM portal_users WHERE lower(email) = lower(:email)")
    return (await conn.execute(sql, {"email": email.strip()})).first()


async def ensure_user(
    conn: AsyncConnection, partner_id: uuid.UUID, email: str, now: datetime
) -> uuid.UUID:
    """The user with this e-mail (made for ``partner_id`` when new)."""
    sql = text(
        "INSERT INTO portal_users (id, partner_id, email, created_at) "
        "VALUES (:id, :partner_id, :email, :now) ON CONFLICT DO NOTHING RETURNING id"
    )
    made = (
        await conn.execute(
            sql, {"id": uuid.uuid4(), "partner_id": partner_id, "email": email.strip(), "now": now}
        )
    ).scalar()
    if made is not None:
        return uuid.UUID(str(made))
    row = await user_by_email(conn, email)
    assert row is not None
    return uuid.UUID(str(row.id))


async def insert_password_link(
    conn: AsyncConnection, token_hash: str, user_id: uuid.UUID, now: datetime, expires: datetime
) -> None:
    await conn.execute(
        text(
            "INSERT INTO portal_password_links (token_hash, user_id, created_at, expires_at) "
            "VALUES (:h, :u, :now, :exp)"
        ),
        {"h": token_hash, "u": user_id, "now": now, "exp": expires},
    )


async def usable_link(conn: AsyncConnection, token_hash: str, now: datetime) -> Row[Any] | None:
    sql = text(
        "SELECT l.user_id, u.email FROM portal_password_links l "
        "JOIN portal_users u ON u.id = l.user_id "
        "WHERE l.token_hash = :h AND l.used_at IS NULL AND l.expires_at > :now"
    )
    return (await conn.execute(sql, {"h": token_hash, "now": now})).first()


async def use_link(
    conn: AsyncConnection, token_hash: str, password_hash: str, now: datetime
) -> bool:
    """Spend the link (once) and set the user's password; False if already spent/expired."""
    user_id = (
        await conn.execute(
            text(
                "UPDATE portal_password_links SET used_at = :now "
                "WHERE token_hash = :h AND used_at IS NULL AND expires_at > :now RETURNING user_id"
            ),
            {"h": token_hash, "now": now},
        )
    ).scalar()
    if user_id is None:
        return False
    await conn.execute(
        text("UPDATE portal_users SET password_hash = :p WHERE id = :u"),
        {"p": password_hash, "u": user_id},
    )
    return True


async def set_password_hash(conn: AsyncConnection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        text("UPDATE portal_users SET password_hash = :p WHERE id = :u"),
        {"p": password_hash, "u": user_id},
    )


async def insert_session(
    conn: AsyncConnection,
    token_hash: str,
    role: str,
    user_id: uuid.UUID | None,
    now: datetime,
    expires: datetime,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO portal_sessions (token_hash, role, user_id, created_at, expires_at) "
            "VALUES (:h, :role, :u, :now, :exp)"
        ),
        {"h": token_hash, "role": role, "u": user_id, "now": now, "exp": expires},
    )


async def session(conn: AsyncConnection, token_hash: str, now: datetime) -> Row[Any] | None:
    sql = text(
        "SELECT s.role, s.user_id, u.email, u.partner_id, p.company, p.reseller_id, p.live "
        "FROM portal_sessions s "
        "LEFT JOIN portal_users u ON u.id = s.user_id "
        "LEFT JOIN partners p ON p.partner_id = u.partner_id "
        "WHERE s.token_hash = :h AND s.expires_at > :now"
    )
    return (await conn.execute(sql, {"h": token_hash, "now": now})).first()


async def delete_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(text("DELETE FROM portal_sessions WHERE token_hash = :h"), {"h": token_hash})


async def api_keys(conn: AsyncConnection, partner_id: uuid.UUID) -> Sequence[Row[Any]]:
    sql = text(
        "SELECT key_id, created_at, revoked_at FROM api_keys WHERE partner_id = :p "
        "ORDER BY created_at DESC"
    )
    return (await conn.execute(sql, {"p": partner_id})).all()


async def vendors_and_categories(conn: AsyncConnection) -> tuple[list[str], list[str]]:
    vendors = (
        await conn.execute(text("SELECT DISTINCT vendor FROM products WHERE active ORDER BY 1"))
    ).scalars()
    categories = (
        await conn.execute(text("SELECT DISTINCT category FROM products WHERE active ORDER BY 1"))
    ).scalars()
    return [str(v) for v in vendors], [str(c) for c in categories]


async def partners(conn: AsyncConnection, limit: int = 500) -> Sequence[Row[Any]]:
    sql = text(
        "SELECT partner_id, reseller_id, company, inn, email, live, credit_limit, term_days, "
        "distributor_reseller_id FROM partners ORDER BY created_at DESC LIMIT :limit"
    )
    return (await conn.execute(sql, {"limit": limit})).all()


async def partners_of_distributor(conn: AsyncConnection, reseller_id: str) -> Sequence[Row[Any]]:
    sql = text(
        "SELECT partner_id, reseller_id, company, inn, live, credit_limit, term_days "
        "FROM partners WHERE distributor_reseller_id = :r ORDER BY company"
    )
    return (await conn.execute(sql, {"r": reseller_id})).all()
