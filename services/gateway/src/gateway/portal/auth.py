"""Who is looking at a portal page: sessions in an HttpOnly cookie, Argon2id passwords, CSRF.

- A session is a random token in the ``esd_session`` cookie (HttpOnly, SameSite=Lax, Secure
  except on a local plain-HTTP host); the database keeps only its SHA-256 and an expiry.
- Passwords are Argon2id hashes (argon2-cffi); a wrong e-mail costs the same hash as a wrong
  password, so timing does not tell which e-mails exist.
- CSRF: every form carries ``_csrf``, which must equal the ``esd_csrf`` cookie (double submit;
  the cookie is HttpOnly and SameSite=Strict, so another site can neither read nor send it).
  A POST without it is refused with 403 before anything changes.
- Ops sign in with the ops token (the same secret the ops API takes).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request, Response
from litestar.datastructures import Cookie

from gateway.portal import store
from gateway.runtime import Gateway

SESSION_COOKIE = "esd_session"
CSRF_COOKIE = "esd_csrf"
LANG_COOKIE = "esd_lang"
SESSION_TTL = timedelta(hours=12)
LINK_TTL = timedelta(days=7)
MIN_PASSWORD = 10

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): the library's default
(64 MiB, 4 lanes) would cost the gateway 64 MiB per sign-in in flight, and hashes are run in a
worker thread so a sign-in never stalls the event loop that serves the API."""


@functools.cache
def _dummy_hash() -> str:
    """What an unknown e-mail is checked against (made on first use, not at import)."""
    return _hasher.hash("a password nobody has")


class CsrfRefused(Exception):
    """A form without the right CSRF token: 403, nothing changed."""


@dataclass(frozen=True)
class Viewer:
    role: str  # "partner" or "ops"
    user_id: uuid.UUID | None
    email: str | None
    partner_id: uuid.UUID | None
    company: str | None
    reseller_id: str | None
    live: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _local(request: Request[Any, Any, Any]) -> bool:
    host = (request.url.hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".test")


def cookie(request: Request[Any, Any, Any], key: str, value: str, **extra: Any) -> Cookie:
    """An HttpOnly cookie of the portal; Secure unless served over plain HTTP on a local host."""
    secure = request.url.scheme == "https" or not _local(request)
    options: dict[str, Any] = {"httponly": True, "samesite": "lax", "path": "/portal"}
    options.update(extra)
    return Cookie(key=key, value=value, secure=secure, **options)


def csrf_token(request: Request[Any, Any, Any]) -> tuple[str, bool]:
    """The request's CSRF token, and whether it is new (then it must be set as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing, False
    return secrets.token_urlsafe(32), True


def with_csrf_cookie(
    request: Request[Any, Any, Any], response: Response[Any], token: str, new: bool
) -> Response[Any]:
    if new:
        response.set_cookie(cookie(request, CSRF_COOKIE, token, samesite="strict"))
    return response


async def check_csrf(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form's fields, once its ``_csrf`` matches the cookie; else :class:`CsrfRefused`."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    sent = fields.pop("_csrf", "")
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused
    return fields


async def viewer(gateway: Gateway, request: Request[Any, Any, Any]) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with gateway.service.engine.connect() as conn:
        row = await store.session(conn, token_hash(token), gateway.service.clock.now())
    if row is None:
        return None
    if row.role == "partner" and row.partner_id is None:
        return None
    return Viewer(
        role=row.role,
        user_id=row.user_id,
        email=row.email,
        partner_id=row.partner_id,
        company=row.company,
        reseller_id=row.reseller_id,
        live=bool(row.live),
    )


async def sign_in(gateway: Gateway, email: str, password: str) -> uuid.UUID | None:
    """The user whose e-mail and password these are (None otherwise, after the same work)."""
    async with gateway.service.engine.connect() as conn:
        row = await store.user_by_email(conn, email)
    stored = row.password_hash if row is not None else None
    if not await asyncio.to_thread(verify_password, stored, password) or row is None:
        return None
    if _hasher.check_needs_rehash(stored or ""):  # e.g. made with older parameters
        rehashed = await asyncio.to_thread(hash_password, password)
        async with gateway.service.uow.transaction() as tx:
            await store.set_password_hash(tx.conn, row.id, rehashed)
    return uuid.UUID(str(row.id))


async def open_session(gateway: Gateway, role: str, user_id: uuid.UUID | None) -> str:
    token = secrets.token_urlsafe(32)
    now = gateway.service.clock.now()
    async with gateway.service.uow.transaction() as tx:
        await store.insert_session(
            tx.conn, token_hash(token), role, user_id, now, now + SESSION_TTL
        )
    return token


async def close_session(gateway: Gateway, request: Request[Any, Any, Any]) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with gateway.service.uow.transaction() as tx:
            await store.delete_session(tx.conn, token_hash(token))


def is_ops_token(gateway: Gateway, token: str) -> bool:
    return bool(token) and hmac.compare_digest(token.encode(), gateway.settings.ops_token.encode())


async def password_link(gateway: Gateway, partner_id: uuid.UUID, email: str) -> str:
    """A one-time link for the partner's user with ``email`` to set a password (path only)."""
    token = secrets.token_urlsafe(32)
    now = gateway.service.clock.now()
    async with gateway.service.uow.transaction() as tx:
        user_id = await store.ensure_user(tx.conn, partner_id, email, now)
        await store.insert_password_link(tx.conn, token_hash(token), user_id, now, now + LINK_TTL)
    return f"/portal/set-password/{token}"
