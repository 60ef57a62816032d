"""Which ``callback_url`` the gateway may call: a guard against server-side request forgery.

A partner's callback URL is fetched by our servers, so it must not point inside our network:
only ``http``/``https``, no credentials in the URL, and no host that is (or resolves to) a
loopback, private, link-local, multicast, reserved or unspecified address, nor a name such as
``localhost`` or ``*.internal``. Checked twice: at intake on the URL as written
(:func:`check_url`), and at each send on the addresses the name resolves to then
(:func:`check_addresses`), since DNS may change in between.

The test environment calls stubs on loopback: :class:`CallbackPolicy` with
``allow_private`` (the default under ``ESD_ENV=test``, or ``ESD_CALLBACK_ALLOW_PRIVATE``) or
hosts named in ``ESD_CALLBACK_ALLOW_HOSTS`` lets those through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.domain.errors import Refusal

_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


@dataclass(frozen=True)
class CallbackPolicy:
    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()


def _refuse(detail: str) -> Refusal:
    return Refusal("validation_error", f"callback_url {detail}")


def is_public_address(address: str) -> bool:
    """True for an address on the public internet (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def check_url(url: str, policy: CallbackPolicy) -> None:
    """Refuse (422 ``validation_error``) a URL the gateway must not call."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise _refuse("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse("must be an http or https URL")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise _refuse("has no host")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not carry credentials")
    if port == 0:
        raise _refuse("has no valid port")
    if policy.allow_private or host in policy.allow_hosts:
        return
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or "." not in host.strip("[]"):
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise _refuse("points to an internal host") from None
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return  # a name: its addresses are checked when it is called
    if not is_public_address(host.strip("[]")):
        raise _refuse("points to an internal address")


def check_addresses(host: str, addresses: Iterable[str], policy: CallbackPolicy) -> None:
    """At send time: every address the host resolves to must be public."""
    if policy.allow_private or host.lower() in policy.allow_hosts:
        return
    found = list(addresses)
    if not found:
        raise _refuse("host does not resolve")
    for address in found:
        if not is_public_address(address):
            raise _refuse(f"host {host!r} resolves to an internal address")
