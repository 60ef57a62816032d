"""Dependencies of the controllers (``provide_*``): the runtime and the caller's identity.

Authentication is an indexed lookup of the key's SHA-256, kept per process in
``gateway.api_keys`` (``adapters.read_caches.KeyCache``) while the invalidation listener is up:
any change to a key or a partner notifies every worker, and the process that revokes a key also
forgets at once, so a revoked key is refused by the very next request.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from gateway.adapters import repository
from gateway.domain.credentials import key_hash
from gateway.http.errors import ApiError
from gateway.runtime import Gateway


@dataclass(frozen=True)
class AuthenticatedPartner:
    partner_id: uuid.UUID
    reseller_id: str
    live: bool
    key_id: uuid.UUID


def provide_gateway(state: State) -> Gateway:
    gateway: Gateway = state.gateway
    return gateway


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def _partner_for(gateway: Gateway, token: str) -> AuthenticatedPartner | None:
    hashed = key_hash(token)
    cached: AuthenticatedPartner | None = gateway.api_keys.get(hashed)
    if cached is not None:
        return cached
    generation = gateway.api_keys.generation
    async with gateway.reads.connect() as conn:
        row = await repository.partner_by_key_hash(conn, hashed)
    if row is None:
        return None  # unknown keys are not kept: a key issued a moment later must work
    found = AuthenticatedPartner(row.partner_id, row.reseller_id, row.live, row.key_id)
    gateway.api_keys.put(hashed, found, generation)
    return found


async def provide_partner(
    request: ASGIConnection[Any, Any, Any, Any], gateway: NamedDependency[Gateway]
) -> AuthenticatedPartner:
    """The partner whose API key signs this request; 401 otherwise."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("an API key is required: Authorization: Bearer <api_key>")
    found = await _partner_for(gateway, token)
    if found is None:
        raise _unauthorized("the API key is unknown or revoked")
    return found


def is_ops_token(gateway: Gateway, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(
        token.encode(), gateway.settings.ops_token.encode()
    )


async def ops_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Ops only: the ops token passes; a partner's valid key is 403, anything else 401."""
    gateway: Gateway = connection.app.state.gateway
    token = bearer_token(connection)
    if is_ops_token(gateway, token):
        return
    if token is not None and await _partner_for(gateway, token) is not None:
        raise ApiError(403, "forbidden", "partner keys have no access to /api/v1/admin")
    raise _unauthorized("the ops token is required")
