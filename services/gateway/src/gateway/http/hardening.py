"""The gateway's guard rails, for every endpoint at once.

- Rate limits: a token bucket per partner (keys of one partner share it; no key or an unknown
  key is bucketed by client address), budget from settings, or the partner's own budget set by
  ops (``PUT /api/v1/admin/partners/{id}/rate-limit``: ``per_minute`` requests, all of them
  usable at once, refilled evenly over the minute); over budget is 429 ``rate_limited`` with
  ``Retry-After``. The ops token and health, metrics and schema paths are not limited.
  With one worker the buckets live in the process; with several (or
  ``rate_limit_store=postgres``) they are rows of an UNLOGGED table every worker shares, since
  per-process buckets would give a partner N× its budget (PITFALLS).
- Request size: a declared ``Content-Length`` over the limit (``max_request_bytes``, or the
  route's own ``request_max_body_size``) is 413 before a byte is read; a body sent in chunks is
  counted as it arrives. (Litestar's own app-wide 10 MB cap stays as an outer bound.)
- Timeouts: a request that has not started its answer within ``request_timeout`` seconds is
  503 ``service_unavailable`` (an order retried with its ``external_id`` is idempotent).
- Security headers on every answer; ``Cache-Control: no-store`` on API answers that set none.
- CORS stays off unless origins are configured.

- The audit log of ops actions: every mutation under ``/api/v1/admin`` is recorded
  (:mod:`gateway.http.audit`), and the onboarding mail relay runs with the app
  (:mod:`gateway.service_layer.mail`); both are installed by :class:`HardeningPlugin`.

Stack traces never leave: unexpected errors are the generic 500 problem of
:mod:`gateway.http.errors`, and the app runs with ``debug=False``.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.plugins import InitPlugin
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters import partner_admin, repository
from gateway.adapters.mail import MailSettings
from gateway.domain.credentials import key_hash
from gateway.http import audit
from gateway.http.errors import ApiError
from gateway.service_layer.mail import MailRelay
from gateway.settings import GatewaySettings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
UNLIMITED_PREFIXES = ("/health", "/ready", "/metrics", "/schema")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by key: ``rate`` tokens a second up to ``burst``; one token a request.

    At most ``max_keys`` buckets are kept; the least recently used go first (a forgotten bucket
    comes back full, which errs on the side of the caller).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, rate: float | None = None, burst: int | None = None) -> float:
        """0 when the request may go; otherwise the seconds until it could.

        ``rate``/``burst`` override the defaults for this key (a partner's own budget)."""
        rate = self.rate if rate is None else rate
        cap = self.burst if burst is None else float(max(burst, 1))
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(cap, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(cap, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


_BURST, _WANT = "CAST(:burst AS double precision)", "CAST(:want AS double precision)"
_REFILLED = (
    f"LEAST({_BURST}, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)"
    " * CAST(:rate AS double precision))"
)
_GRANT = f"LEAST({_WANT}, FLOOR({_REFILLED}))"
_TAKE = text(
    f"""
    INSERT INTO rate_buckets AS b (key, tokens, taken, granted, updated_at)
    VALUES (:key, {_BURST} - LEAST({_WANT}, {_BURST}), true,
            CAST(LEAST({_WANT}, FLOOR({_BURST})) AS integer), clock_timestamp())
    ON CONFLICT (key) DO UPDATE SET
        granted = CAST({_GRANT} AS integer),
        taken = {_GRANT} >= 1,
        tokens = {_REFILLED} - {_GRANT},
        updated_at = clock_timestamp()
    RETURNING granted, tokens
    """
)


async def take_tokens(
    engine: AsyncEngine, key: str, rate: float, burst: int, want: int = 1
) -> tuple[int, float]:
    """Up to ``want`` tokens from the table every worker shares: (granted, tokens left). One
    upsert; the row lock orders concurrent takes; the database's clock is the one clock."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                _TAKE, {"key": key, "rate": rate, "burst": float(max(burst, 1)), "want": want}
            )
        ).one()
    return int(row.granted), float(row.tokens)


async def take_shared(engine: AsyncEngine, key: str, rate: float, burst: int) -> float:
    """:meth:`TokenBuckets.take` on the shared table: 0 when a token was taken, else the wait."""
    granted, tokens = await take_tokens(engine, key, rate, burst)
    return 0.0 if granted else (1.0 - tokens) / rate


class SharedBuckets:
    """The shared buckets, a few tokens at a time: a worker takes up to a tenth of a second's
    worth (at most an eighth of the burst) in one round trip and spends them locally for at most
    ``lease`` seconds; what it did not spend by then is dropped. Nothing is ever admitted that the
    shared bucket did not hand out; other workers may be refused a little early while this one
    holds tokens, by at most one lease's worth. A budget of a few requests a minute is taken one
    token at a time, exactly as before."""

    def __init__(
        self,
        lease: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.lease = lease
        self.clock = clock
        self.max_keys = max_keys
        self._held: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def take(self, engine: AsyncEngine, key: str, rate: float, burst: int) -> float:
        now = self.clock()
        held = self._held.get(key)
        if held is not None and held[0] > 0 and held[1] > now:
            self._held[key] = (held[0] - 1, held[1])
            return 0.0
        want = max(1, min(int(rate * 0.1), max(burst, 1) // 8))
        granted, tokens = await take_tokens(engine, key, rate, burst, want)
        if granted < 1:
            return (1.0 - tokens) / rate
        held = self._held.get(key)  # another request of this key may have taken some meanwhile
        left = held[0] if held is not None and held[1] > now else 0
        self._held[key] = (left + granted - 1, now + self.lease)
        self._held.move_to_end(key)
        if len(self._held) > self.max_keys:
            self._held.popitem(last=False)
        return 0.0


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "validation_error", f"the body may be at most {limit} bytes")


_UNSTORABLE_JSON = re.compile(
    rb"(?<!\\)\\u0000"  # a JSON-escaped NUL
    rb"|(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"  # a lone high surrogate
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # lone low
    rb"|\x00"
)
"""Text no database column can hold, in a JSON body: a NUL character or half of a surrogate
pair (XML cannot carry either; other bodies are read by their own parsers). Refused up front
as 422 instead of failing deep."""


def _unstorable() -> ApiError:
    return ApiError(
        422, "validation_error", "text must not contain NUL characters or unpaired surrogates"
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    header = _header(scope, b"authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class RateLimits:
    """Per-partner (else per-client) token buckets: the settings' rate, or the partner's own
    budget; in this process, or in PostgreSQL when several workers share the limits."""

    def __init__(
        self,
        settings: GatewaySettings,
        limiter: TokenBuckets,
        budgets: PartnerBudgets | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.shared_buckets = SharedBuckets()
        self._partner_of_key: OrderedDict[str, str] = OrderedDict()
        self._budgets = budgets or PartnerBudgets()

    @property
    def shared(self) -> bool:
        """Buckets in PostgreSQL (several workers): a round trip per few requests."""
        return self.settings.rate_limit_store == "postgres" or (
            self.settings.rate_limit_store == "auto" and self.settings.gateway_workers > 1
        )

    async def wait(self, scope: Scope, partner_id: str | None = None) -> float:
        """0 when the request may go (a token is taken); else the seconds until it could.
        ``partner_id``: the key's partner when the caller knows it already."""
        token = _bearer(scope)
        if token is not None and hmac.compare_digest(
            token.encode(), self.settings.ops_token.encode()
        ):
            return 0.0
        default_on = self.settings.rate_limit_per_second > 0
        if token is None and not default_on:
            return 0.0
        bucket = f"partner:{partner_id}" if partner_id else await self._bucket_key(scope, token)
        rate, burst = self.settings.rate_limit_per_second, self.settings.rate_limit_burst
        if bucket.startswith("partner:"):
            per_minute = await self._budgets.per_minute(scope, bucket.removeprefix("partner:"))
            if per_minute is not None:
                rate, burst = per_minute / 60.0, per_minute
        if rate <= 0:
            return 0.0
        if self.shared:
            engine = scope["app"].state.gateway.service.engine
            return await self.shared_buckets.take(engine, bucket, rate, burst)
        return self.limiter.take(bucket, rate, burst)

    async def _bucket_key(self, scope: Scope, token: str | None) -> str:
        """The partner of the key (looked up once per key per process), else the client."""
        if token is not None:
            hashed = key_hash(token)
            partner = self._partner_of_key.get(hashed)
            if partner is None:
                gateway = scope["app"].state.gateway
                async with gateway.service.engine.connect() as conn:
                    row = await repository.partner_by_key_hash(conn, hashed)
                if row is not None:
                    partner = self._partner_of_key[hashed] = str(row.partner_id)
                    if len(self._partner_of_key) > 10_000:
                        self._partner_of_key.popitem(last=False)
            if partner is not None:
                return f"partner:{partner}"
        client = scope.get("client")
        return f"client:{client[0] if client else 'unknown'}"


class HardeningMiddleware:
    """ASGI middleware of each route: size, rate and time limits."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings, limits: RateLimits) -> None:
        self.app = app
        self.settings = settings
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            raise _unstorable()
        receive = self._check_size(scope, receive)
        if not scope["path"].startswith(UNLIMITED_PREFIXES):
            await self._check_rate(scope)
        await self._within_time(scope, receive, send)

    def _body_limit(self, scope: Scope) -> int:
        """The route's own limit where it sets one (bank statements), else the settings'."""
        resolve = getattr(scope.get("route_handler"), "resolve_request_max_body_size", None)
        own = resolve() if resolve is not None else None
        app_default = getattr(scope.get("app"), "request_max_body_size", None)
        if isinstance(own, int) and own != app_default:
            return own
        return self.settings.max_request_bytes

    def _check_size(self, scope: Scope, receive: Receive) -> Receive:
        """413 for a declared length over the limit; a body sent in chunks is counted."""
        limit = self._body_limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise ApiError(400, "validation_error", "Content-Length is not a number") from None
            if size > limit:
                raise _too_large(limit)
        received = 0
        json_body = "json" in (_header(scope, b"content-type") or "").lower()

        async def counted() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise _too_large(limit)
                if json_body and _UNSTORABLE_JSON.search(chunk):
                    raise _unstorable()
            return message

        return cast("Receive", counted)

    async def _check_rate(self, scope: Scope) -> None:
        wait = await self.limits.wait(scope)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                "request budget exceeded; retry after the time in Retry-After",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    async def _within_time(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.request_timeout
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        started = False
        try:
            async with asyncio.timeout(limit) as deadline:

                async def timed_send(message: Message) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start":
                        started = True
                        deadline.reschedule(None)  # a streaming answer may take its time
                    await send(message)

                await self.app(scope, receive, timed_send)
        except TimeoutError:
            if deadline.expired() and not started:
                raise ApiError(
                    503,
                    "service_unavailable",
                    "the request took too long; it may be retried",
                    headers={"Retry-After": "1"},
                ) from None
            raise


class PartnerBudgets:
    """Partners' own request budgets, read from the partners table and kept for ``ttl``
    seconds per process; ops' change in this process drops the entry at once (others within
    ``ttl``)."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._known: OrderedDict[str, tuple[float, int | None]] = OrderedDict()

    def forget(self, partner_id: str) -> None:
        self._known.pop(partner_id, None)

    async def per_minute(self, scope: Scope, partner_id: str) -> int | None:
        now = self.clock()
        known = self._known.get(partner_id)
        if known is not None and known[0] > now:
            return known[1]
        gateway = scope["app"].state.gateway
        async with gateway.service.engine.connect() as conn:
            value = await partner_admin.rate_per_minute(conn, partner_id)
        self._known[partner_id] = (now + self.ttl, value)
        self._known.move_to_end(partner_id)
        if len(self._known) > 10_000:
            self._known.popitem(last=False)
        return value


async def security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the security headers on every answer, errors included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    if scope.get("path", "").startswith("/api/") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"


class HardeningPlugin(InitPlugin):
    """Registers the limits, the headers and (only when configured) CORS."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.limiter = TokenBuckets(
            settings.rate_limit_per_second or 1.0, settings.rate_limit_burst
        )
        self.budgets = PartnerBudgets()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        limits = RateLimits(settings, self.limiter, self.budgets)

        def middleware(app: ASGIApp) -> ASGIApp:
            return HardeningMiddleware(app, settings, limits)

        app_config.middleware = [*app_config.middleware, middleware, audit.AuditMiddleware]
        app_config.before_send = [*app_config.before_send, security_headers, audit.record]
        app_config.lifespan = [*app_config.lifespan, mail_relay_lifespan]
        if settings.cors_origins:
            app_config.cors_config = CORSConfig(
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
            )
        app_config.state["rate_limiter"] = self.limiter
        app_config.state["partner_budgets"] = self.budgets
        app_config.state["rate_limits"] = limits
        return app_config


@asynccontextmanager
async def mail_relay_lifespan(app: Litestar) -> AsyncIterator[None]:
    """The onboarding mail relay, started after the gateway (this lifespan comes after the
    composition root's). Tests may put their own ``MailSettings`` in ``app.state.mail_settings``
    before start; the relay is ``app.state.mail_relay``."""
    gateway = app.state.gateway
    mail_settings = app.state.get("mail_settings") or MailSettings()
    relay = MailRelay(gateway.service, mail_settings)
    app.state.mail_relay = relay
    await relay.start()
    try:
        yield
    finally:
        await relay.stop()
