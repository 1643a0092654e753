"""The client seam: how Connect gets its CRM client, and what every identity must pass.

The CRM client is the HTTP client unless the CONNECT_CRM_CLIENT setting names a factory (tests
of single pieces inject a fake CRM that way; the end-to-end tests use the HTTP client). Every
path that obtains a token for a user checks the identity's org here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from tandem.engagement.connect.client import CrmClient, CrmIdentity, CrmToken
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection


def crm_client() -> CrmClient:
    """A CRM client: the CONNECT_CRM_CLIENT setting's factory (a callable or its dotted path)
    when set, else the HTTP client."""
    factory: Callable[[], CrmClient] | str | None = getattr(settings, "CONNECT_CRM_CLIENT", None)
    if factory is None:
        from tandem.engagement.connect.client import HttpCrmClient

        return HttpCrmClient()
    return (import_string(factory) if isinstance(factory, str) else factory)()


def jwt_token(connection: CrmConnection, username: str, client: CrmClient) -> CrmToken:
    return client.jwt_login(
        token_url=connection.token_url, audience=connection.token_url, username=username
    )


# The identity URL of a token answer: `<CRM>/id/<orgId>/<userId>`, 15- or 18-character ids.
IDENTITY_PATH = re.compile(
    r"/id/([0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?)/([0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?)"
)


def token_org_and_user(token: CrmToken, client: CrmClient) -> tuple[str, str]:
    """The org and user ids of a token's CRM user.

    Read from the token answer's identity URL (`id`), which names them as Salesforce's does;
    only an answer without one costs a call of that URL. Both come from the same answer of the
    CRM the connection trusts (its host checked), so the org check is the same either way."""
    match = IDENTITY_PATH.fullmatch(urlsplit(token.identity_url).path)
    if match:
        return match.group(1), match.group(2)
    identity = client.identity(token=token)
    return identity.org_id, identity.user_id


def org_check(connection: CrmConnection, identity: CrmIdentity) -> None:
    """Refuse a CRM identity of another org than the connection's (before anything is stored).

    The org id comes from the CRM's identity answer for the token just obtained, so a username
    that exists in another org (even pre-authorized there) is never mapped, migrated or used."""
    if not identity.org_id or identity.org_id != connection.org_id:
        raise ConnectError(
            f"The CRM user {identity.username or '(unknown)'} belongs to org "
            f"{identity.org_id or '(unknown)'}, not to org {connection.org_id} that this account "
            "is connected to.",
            "crm_username",
        )
