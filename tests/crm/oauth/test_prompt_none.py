"""prompt=none: the CRM never logs in or consents silently; the client hears so."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.crm.oauth.conftest import CALLBACK, make_app, pkce_pair


def test_prompt_none_answers_login_required_at_the_callback(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    crm_client.force_login(marketer)

    response = crm_client.get(
        "/services/oauth2/authorize",
        {
            "response_type": "code",
            "client_id": app.key,
            "redirect_uri": CALLBACK,
            "scope": "api openid",
            "state": "xyz",
            "code_challenge": pkce_pair()[1],
            "prompt": "none",
        },
    )

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    assert parse_qs(location.query)["error"] == ["login_required"]
