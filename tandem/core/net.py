"""The caller's address and scheme, believing X-Forwarded-For and X-Forwarded-Proto only from
TANDEM_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _is_proxy(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """The request's peer (REMOTE_ADDR) is one of TANDEM_TRUSTED_PROXIES."""
    proxies = _networks(tuple(settings.TRUSTED_PROXIES))
    return bool(proxies) and _is_proxy(str(request.META.get("REMOTE_ADDR") or ""), proxies)


def is_loopback_host(host: str) -> bool:
    """`localhost`, a `*.localhost` name (RFC 6761) or a loopback address."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def client_ip(request: HttpRequest) -> str:
    """The caller's address: X-Forwarded-For is believed only when sent by a trusted proxy.

    Walking the header from the nearest hop outwards, the first address that is not a trusted
    proxy is the client; a client cannot spoof its way past the proxies it went through.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = _networks(tuple(settings.TRUSTED_PROXIES))
    if not proxies or not _is_proxy(remote, proxies):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([part for part in forwarded if part]):
        if not _is_proxy(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote
