"""Where Connect may send a CRM password or follow a CRM answer: the configured CRM only.

The login URL an admin types, and the `instance_url` and identity `id` URLs in the CRM's token
answers, must name the CRM's host (settings.CRM_URL) or one of its My Domain hosts
(`<slug>.my.<crm host>`), over https unless the host is a loopback name. Anything else would
let a typo or a hostile form post the system user's password and security token elsewhere,
or make Connect request internal addresses (SSRF).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

MY_DOMAIN_INFIX = ".my."


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def crm_host() -> str:
    return (urlsplit(str(settings.CRM_URL)).hostname or "").lower()


def crm_url_problem(url: str) -> str | None:
    """Why `url` is not a URL of the configured CRM, or None when it is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{url!r} is not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return f"{url!r} is not an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} carries credentials"
    expected = crm_host()
    if host != expected:
        suffix = MY_DOMAIN_INFIX + expected
        slug = host[: -len(suffix)] if host.endswith(suffix) else ""
        if not slug or "." in slug:
            return f"{host} is neither the CRM ({expected}) nor one of its My Domain hosts"
    if parts.scheme != "https" and not _loopback(host):
        return f"{url!r} must use https"
    return None
