"""Who a token speaks for: instance URL, identity URL, the identity document and OIDC claims."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppConsent
from tandem.crm.orgs.domains import crm_base_url, my_domain_from_host, my_domain_url
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import User

API_VERSION = "v62.0"
# settings.OAUTH_INSTANCE_URL: where API clients are sent (`instance_url`).
INSTANCE_URL_AUTO, INSTANCE_URL_MY_DOMAIN, INSTANCE_URL_LOGIN = "auto", "my-domain", "login"


def issuer() -> str:
    """The authorization server's issuer identifier: `issuer` in both metadata documents, `iss`
    in ID tokens and RFC 9207's `iss` on every authorization response, code or error. It is
    the CRM URL whatever host (a My Domain, an address) the client called."""
    return crm_base_url()


def my_domains_resolve() -> bool:
    """Whether ordinary resolvers (Node's, Python's) reach My Domain hosts: the CRM's host is a
    DNS name, not an address and not `localhost`, whose `*.my.localhost` names only browsers
    resolve (RFC 6761)."""
    host = (urlsplit(crm_base_url()).hostname or "localhost").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def instance_url(org: Org, origin: str | None = None, mode: str | None = None) -> str:
    """Where the org's API clients go next (`instance_url`, SOAP's `serverUrl`).

    `my-domain`: the org's My Domain URL. `login`: the CRM URL. `auto` (the default): My Domain
    where ordinary resolvers reach it, else `origin` (the scheme and host the client called,
    which it reaches by definition) unless that is a My Domain host, else the CRM URL. The API
    tells the org apart by the token, so any of them serves every org. `mode` overrides the
    setting."""
    mode = mode or settings.OAUTH_INSTANCE_URL
    if org.my_domain and (
        mode == INSTANCE_URL_MY_DOMAIN or (mode == INSTANCE_URL_AUTO and my_domains_resolve())
    ):
        return my_domain_url(org.my_domain)
    if mode == INSTANCE_URL_AUTO and origin:
        netloc = urlsplit(origin).netloc
        if my_domain_from_host(netloc) is None:
            return origin.rstrip("/")
        if org.my_domain:  # the client reached a My Domain host, so it resolves them
            return my_domain_url(org.my_domain)
    return crm_base_url()


def identity_url(user: User) -> str:
    """`<login URL>/id/<orgId>/<userId>`, as Salesforce returns it in `id`."""
    return f"{crm_base_url()}/id/{user.org_id}/{user.pk}"


def approved_scopes(*, app: ConnectedApp, user: User) -> list[str]:
    """The scopes of the user's approval, else (pre-authorized) the app's selected scopes."""
    consent = ConnectedAppConsent.objects.filter(app=app, user=user).only("scopes").first()
    return consent.scopes.split() if consent else app.scope_list


def identity_document(user: User, origin: str | None = None) -> dict[str, Any]:
    """The identity URL's JSON (the fields integrations read); `custom_domain` is the org's
    My Domain URL, for browsers."""
    base = instance_url(user.org, origin)
    data = f"{base}/services/data/{API_VERSION}"
    return {
        "id": identity_url(user),
        "asserted_user": True,
        "user_id": user.pk,
        "organization_id": user.org_id,
        "username": user.username,
        "nick_name": user.username.split("@")[0],
        "display_name": user.full_name,
        "email": user.email,
        "email_verified": True,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": "UTC",
        "active": user.is_active,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "urls": {
            "rest": f"{data}/",
            "sobjects": f"{data}/sobjects/",
            "query": f"{data}/query/",
            "search": f"{data}/search/",
            "recent": f"{data}/recent/",
            "profile": f"{base}/{user.pk}",
            "custom_domain": my_domain_url(user.org.my_domain) if user.org.my_domain else base,
        },
        "is_app_installed": True,
    }


def oidc_claims(user: User) -> dict[str, Any]:
    """Claims for the ID token and /userinfo; `sub` is the identity URL, as Salesforce does."""
    return {
        "sub": identity_url(user),
        "user_id": user.pk,
        "organization_id": user.org_id,
        "preferred_username": user.username,
        "name": user.full_name,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "email": user.email,
        "email_verified": True,
        "zoneinfo": "UTC",
        "locale": "en_US",
    }
