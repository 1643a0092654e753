"""My Domain: the org's company-specific host, and resolving an org from a request's host."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings

if TYPE_CHECKING:
    from tandem.crm.orgs.models import Org

MY_DOMAIN_INFIX = ".my."


def crm_base_url() -> str:
    """The generic CRM URL (settings.CRM_URL) without a trailing slash."""
    return str(settings.CRM_URL).rstrip("/")


def my_domain_url(slug: str) -> str:
    """`{scheme}://{slug}.my.{crm host}[:{port}]`, from settings.CRM_URL."""
    parts = urlsplit(crm_base_url())
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{slug}{MY_DOMAIN_INFIX}{host}{port}"


def org_instance_url(org: Org) -> str:
    """Where the org's users and API clients reach it: My Domain when set, else the CRM URL."""
    return my_domain_url(org.my_domain) if org.my_domain else crm_base_url()


def org_login_url(org: Org) -> str:
    """The login page for the org's users."""
    return f"{org_instance_url(org)}/login/"


def my_domain_from_host(host: str) -> str | None:
    """The My Domain slug named by a request host (port ignored), or None for other hosts."""
    crm_host = (urlsplit(crm_base_url()).hostname or "localhost").lower()
    name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
    suffix = f"{MY_DOMAIN_INFIX}{crm_host}"
    if not name.endswith(suffix):
        return None
    slug = name[: -len(suffix)]
    return slug if slug and "." not in slug else None
