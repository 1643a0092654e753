"""The client seam: how Connect gets its CRM client, and what every identity must pass.

Tests of single pieces swap `client_factory` for a fake; the end-to-end tests use the HTTP
client. Every path that obtains a token for a user checks the identity's org here.
"""

from __future__ import annotations

from collections.abc import Callable

from tandem.engagement.connect.client import CrmClient, CrmIdentity, CrmToken
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection


def _default_client() -> CrmClient:
    from tandem.engagement.connect.client import HttpCrmClient

    return HttpCrmClient()


# Tests of single pieces swap in a fake; the end-to-end tests always use the HTTP client.
client_factory: Callable[[], CrmClient] = _default_client


def crm_client() -> CrmClient:
    return client_factory()


def jwt_token(connection: CrmConnection, username: str, client: CrmClient) -> CrmToken:
    return client.jwt_login(
        token_url=connection.token_url, audience=connection.token_url, username=username
    )


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
