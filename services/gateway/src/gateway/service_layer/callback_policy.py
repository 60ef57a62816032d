"""The callback URL guard's policy for a gateway: from ``ESD_*`` settings, or set by a test."""

from __future__ import annotations

import asyncio
import functools
import socket
import weakref

from esd_platform.service import Service
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.domain.callback_guard import CallbackPolicy, check_addresses, check_url, host_of


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
