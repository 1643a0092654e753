"""The web-server flow with PKCE (RFC 7636): the authorize URL and the code exchange."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings

from tandem.engagement.connect.client import CrmIdentity
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.services.seam import crm_client


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    connection: CrmConnection, *, state: str, challenge: str, login_hint: str, log_in_again: bool
) -> str:
    """The CRM's authorize URL for the web-server flow with PKCE (S256), on My Domain if any."""
    params = {
        "response_type": "code",
        "client_id": settings.MC_CONSUMER_KEY,
        "redirect_uri": callback_url(),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    if log_in_again:
        params["prompt"] = "login"
    return f"{connection.token_url}/services/oauth2/authorize?{urlencode(params)}"


def code_identity(connection: CrmConnection, *, code: str, verifier: str) -> CrmIdentity:
    """Exchange the web-server flow's code (with the PKCE verifier) and read who it connected."""
    client = crm_client()
    token = client.code_exchange(
        token_url=connection.token_url, code=code, redirect_uri=callback_url(), verifier=verifier
    )
    return client.identity(token=token)


def callback_url() -> str:
    """The callback registered on the Salesforce Marketing Cloud app."""
    configured = settings.MC_CALLBACK_URL
    if configured:
        return str(configured)
    return (
        f"{str(settings.ENGAGEMENT_URL).rstrip('/')}/email/admin/salesforce-integration/callback/"
    )
