"""Who a token speaks for: instance URL, identity URL, the identity document and OIDC claims."""

from __future__ import annotations

from typing import Any

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppConsent
from tandem.crm.orgs.domains import crm_base_url, org_instance_url
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import User

API_VERSION = "v62.0"


def instance_url(org: Org) -> str:
    """The org's My Domain URL (or the CRM URL when it has none)."""
    return org_instance_url(org)


def identity_url(user: User) -> str:
    """`<login URL>/id/<orgId>/<userId>`, as Salesforce returns it in `id`."""
    return f"{crm_base_url()}/id/{user.org_id}/{user.pk}"


def approved_scopes(*, app: ConnectedApp, user: User) -> list[str]:
    """The scopes of the user's approval, else (pre-authorized) the app's selected scopes."""
    consent = ConnectedAppConsent.objects.filter(app=app, user=user).only("scopes").first()
    return consent.scopes.split() if consent else app.scope_list


def identity_document(user: User) -> dict[str, Any]:
    """The identity URL's JSON (the fields integrations read)."""
    base = instance_url(user.org)
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
            "custom_domain": base,
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
