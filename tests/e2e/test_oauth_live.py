"""The live CRM (granian, real HTTP) driven by an independent OAuth client library (Authlib):
the web-server flow with PKCE, then the JWT bearer flow, each followed by the identity URL."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from html import unescape
from urllib.parse import urljoin

import pytest
import requests
from authlib.integrations.requests_client import AssertionSession, OAuth2Session
from joserfc.jwk import RSAKey

from tandem.core.paths import PROJECT_ROOT
from tests.crm.oauth.jwtkeys import key_pair, private_pem
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

CALLBACK = "https://client.example/callback"
PASSWORD = "live test password 1!"
SETUP = """
import json, os
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile
from tandem.crm.users.services import user_create
from tandem.crm.connectedapps.services import connected_app_create
org = org_create(name="Live Org", my_domain=os.environ["LIVE_DOMAIN"])
profile = Profile.objects.get(org=org, name="System Administrator")
name = os.environ["LIVE_USER"]
user = user_create(org=org, actor=None, username=name, email=name, last_name="Live",
                   profile=profile, password=os.environ["LIVE_PASSWORD"])
created = connected_app_create(
    org=org, actor=None, name="Live Client", callback_urls=[os.environ["LIVE_CALLBACK"]],
    scopes=["api", "refresh_token", "id", "openid"], certificate=os.environ["LIVE_CERT"])
app = created.app
print(json.dumps({"org": org.id, "user": user.id, "key": app.client_id,
                  "secret": created.consumer_secret}))
"""


@pytest.fixture(scope="module")
def live(stack: RunningStack) -> dict[str, str]:
    """An org, a user and a connected app created through the CRM's own services."""
    suffix = secrets.token_hex(3)
    username = f"live{suffix}@example.test"
    env = {
        **stack.env,
        "LIVE_DOMAIN": f"live{suffix}",
        "LIVE_USER": username,
        "LIVE_PASSWORD": PASSWORD,
        "LIVE_CALLBACK": CALLBACK,
        "LIVE_CERT": key_pair()[1],
    }
    result = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", SETUP],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return {**data, "username": username}


def _form(html: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: unescape(value) for name, value in fields}


def _browser_consent(crm_url: str, authorize_url: str, username: str) -> str:
    """What a person does in a browser: log in, then Allow; returns the callback URL."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=30)  # → the login page
    assert "Log In" in page.text
    login = {**_form(page.text), "username": username, "password": PASSWORD}
    consent = browser.post(page.url, data=login, timeout=30)  # → back to authorize: consent
    assert "Allow Access?" in consent.text, consent.text[:500]
    assert username in consent.text
    assert "Live Org" in consent.text
    form = {**_form(consent.text), "allow": "Authorize"}
    answer = browser.post(
        urljoin(crm_url, "/services/oauth2/authorize"), data=form, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def test_web_server_flow_with_pkce_then_the_identity_url(
    stack: RunningStack, live: dict[str, str]
) -> None:
    client = OAuth2Session(
        live["key"],
        live["secret"],
        scope="api refresh_token id",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    authorize_url, _state = client.create_authorization_url(
        f"{stack.crm_url}/services/oauth2/authorize", code_verifier=verifier
    )

    callback = _browser_consent(stack.crm_url, authorize_url, live["username"])
    token = client.fetch_token(
        f"{stack.crm_url}/services/oauth2/token",
        authorization_response=callback,
        code_verifier=verifier,
    )

    assert token["token_type"] == "Bearer"
    assert token["refresh_token"]
    assert token["id"].endswith(f"/id/{live['org']}/{live['user']}")
    identity = client.get(f"{stack.crm_url}/id/{live['org']}/{live['user']}", timeout=30)
    assert identity.status_code == 200
    assert identity.json()["username"] == live["username"]
    refreshed = client.refresh_token(f"{stack.crm_url}/services/oauth2/token")
    assert refreshed["access_token"] != token["access_token"]


def test_jwt_bearer_flow_then_the_identity_url(stack: RunningStack, live: dict[str, str]) -> None:
    # The web-server test above approved the app: self-authorized apps need that first.
    issuer = requests.get(f"{stack.crm_url}/.well-known/openid-configuration", timeout=30).json()
    session = AssertionSession(
        token_endpoint=f"{stack.crm_url}/services/oauth2/token",
        issuer=live["key"],
        subject=live["username"],
        audience=issuer["issuer"],
        grant_type=AssertionSession.JWT_BEARER_GRANT_TYPE,
        key=RSAKey.import_key(private_pem()),  # authlib's own key type (a PEM is deprecated)
        alg="RS256",
        expires_in=120,
    )

    identity = session.get(f"{stack.crm_url}/id/{live['org']}/{live['user']}", timeout=30)

    assert identity.status_code == 200, identity.text
    assert identity.json()["organization_id"] == live["org"]
    assert "refresh_token" not in session.token
