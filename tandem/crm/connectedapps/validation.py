"""Field rules for a connected app: callback URLs, scopes, certificate, policy values."""

from __future__ import annotations

from urllib.parse import urlsplit

from tandem.crm.connectedapps.models import OAUTH_SCOPES
from tandem.crm.oauth.jwt_bearer import public_key_from_pem
from tandem.crm.oauth.policy import (
    IpRelaxation,
    PermittedUsers,
    RefreshTokenPolicy,
    ValidityUnit,
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
MAX_CALLBACKS = 20


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


def callback_url_errors(urls: list[str]) -> list[str]:
    """HTTPS callbacks (http only for loopback hosts, RFC 9700 §2.6), no fragment, no wildcard."""
    if not urls:
        return ["Enter at least one callback URL."]
    if len(urls) > MAX_CALLBACKS:
        return [f"Enter at most {MAX_CALLBACKS} callback URLs."]
    errors = []
    for url in urls:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            errors.append(f"{url}: enter an absolute https:// URL.")
        elif parts.scheme == "http" and not _is_loopback(host):
            errors.append(f"{url}: http:// is allowed only for localhost; use https://.")
        elif parts.fragment or "*" in url or parts.username or not url.isprintable():
            errors.append(f"{url}: no fragments, wildcards or user names.")
    return errors


def scope_errors(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in OAUTH_SCOPES]
    if not scopes:
        return ["Select at least one OAuth scope."]
    return [f"Unknown OAuth scope: {', '.join(unknown)}."] if unknown else []


def certificate_errors(pem: str) -> list[str]:
    if pem.strip() and public_key_from_pem(pem.strip()) is None:
        return ["Upload a PEM certificate (or public key) holding an RSA key."]
    return []


def policy_errors(
    *, permitted_users: str, ip_relaxation: str, refresh_token_policy: str, validity: int, unit: str
) -> dict[str, list[str]]:
    """Every invalid policy value, per field."""
    errors: dict[str, list[str]] = {}
    if permitted_users not in {p.value for p in PermittedUsers}:
        errors["permitted_users"] = ["Choose who may use the app."]
    if ip_relaxation not in {p.value for p in IpRelaxation}:
        errors["ip_relaxation"] = ["Choose an IP relaxation."]
    if refresh_token_policy not in {p.value for p in RefreshTokenPolicy}:
        errors["refresh_token_policy"] = ["Choose a refresh token policy."]
    elif refresh_token_policy in (
        RefreshTokenPolicy.SPECIFIC_INACTIVITY,
        RefreshTokenPolicy.SPECIFIC_LIFETIME,
    ):
        if not 1 <= validity <= 999:
            errors["refresh_token_validity"] = ["Enter a number from 1 to 999."]
        if unit not in {u.value for u in ValidityUnit}:
            errors["refresh_token_unit"] = ["Choose hours, days or months."]
    return errors
