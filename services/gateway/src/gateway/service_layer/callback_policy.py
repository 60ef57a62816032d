"""The callback URL guard's policy for a gateway: from ``ESD_*`` settings, or set by a test."""

from __future__ import annotations

import asyncio
import functools
import socket
import weakref
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from esd_platform.service import Service
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.domain.callback_guard import CallbackPolicy, check_addresses, check_url, host_of
from gateway.domain.errors import Refusal


class CallbackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    callback_allow_private: bool | None = Field(
        default=None,
        description="Allow callbacks to internal addresses (default: only under ESD_ENV=test)",
    )
    callback_allow_hosts: list[str] = Field(
        default_factory=list, description="Host names allowed whatever they resolve to"
    )


_set: weakref.WeakKeyDictionary[Service, CallbackPolicy] = weakref.WeakKeyDictionary()


@functools.cache
def _default(is_test: bool) -> CallbackPolicy:
    settings = CallbackSettings()
    allow = settings.callback_allow_private
    return CallbackPolicy(
        allow_private=is_test if allow is None else allow,
        allow_hosts=frozenset(h.lower() for h in settings.callback_allow_hosts),
    )


def set_policy(service: Service, policy: CallbackPolicy) -> None:
    """Give one gateway its own policy (tests of the guard run under ESD_ENV=test)."""
    _set[service] = policy


def policy_for(service: Service) -> CallbackPolicy:
    return _set.get(service) or _default(service.settings.is_test)


def check_at_intake(service: Service, url: str | None) -> None:
    """422 ``validation_error`` for a callback URL the gateway must not call."""
    if url:
        check_url(url, policy_for(service))


async def check_before_send(service: Service, url: str) -> None:
    """Resolve the URL's host now and refuse internal addresses (raises Refusal)."""
    policy = policy_for(service)
    check_url(url, policy)
    host = host_of(url)
    if policy.allow_private or host in policy.allow_hosts:
        return
    check_addresses(host, await resolve(host), policy)


async def resolve(host: str) -> list[str]:
    """The host's addresses now (empty when it does not resolve)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to an address it has checked itself.

    :func:`check_before_send` resolves the host and refuses internal addresses, but the HTTP
    client would resolve it again to connect, and a name with a short TTL can answer the check
    with a public address and the connection with an internal one (DNS rebinding). Here the name
    is resolved once per connection, every address must pass the policy, and the socket goes to
    one of those very addresses; TLS still verifies the certificate for the name (httpcore sends
    the original host as SNI and checks it).
    """

    def __init__(self, service: Service, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._service = service
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        policy = policy_for(self._service)
        target = host
        if not (policy.allow_private or host.lower() in policy.allow_hosts):
            addresses = await resolve(host)
            check_addresses(host, addresses, policy)  # raises Refusal
            target = addresses[0]
        return await self._inner.connect_tcp(
            target,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refusal("validation_error", "callbacks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(service: Service) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool on :class:`PinnedBackend`.

    httpx 0.28 has no public way to give its transport a network backend, so the pool it made
    is replaced by the same pool on ours (``_pool`` is private to httpx: the pinning test in
    ``test_partner_ops.py`` fails if an upgrade changes it)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=PinnedBackend(service),
    )
    return transport
