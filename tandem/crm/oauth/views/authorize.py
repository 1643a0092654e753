"""GET/POST /services/oauth2/authorize: who is connecting to which org, the policies, consent."""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.views import AuthorizationView

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppConsent
from tandem.crm.connectedapps.services import connected_app_consent_grant
from tandem.crm.oauth import identity
from tandem.crm.oauth.enforcement import policy_check
from tandem.crm.oauth.errors import (
    INVALID_CLIENT_ID,
    INVALID_CODE_CHALLENGE,
    INVALID_NONCE,
    INVALID_PARAMETER,
    INVALID_RESOURCE,
    PKCE_S256_ONLY,
    OAuthErrorPair,
    salesforce_pair,
)
from tandem.crm.oauth.policy import Denial, PermittedUsers, TokenPath
from tandem.crm.users.models import User
from tandem.crm.users.policies import client_ip
from tandem.crm.users.sessions import user_session_end_current

# RFC 7636 §4.2: 43 to 128 unreserved characters (an S256 challenge is exactly 43).
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NONCE_MAX_LENGTH = 255  # the grant's column; longer would fail at the database
TEMPLATE = "crm/oauth/authorize.html"
ERROR_TEMPLATE = "crm/oauth/error.html"


def _malformed_parameter(credentials: dict[str, Any], query: QueryDict) -> OAuthErrorPair | None:
    """A code_challenge or nonce the grant could not store is refused before anything is saved.
    The nonce is read from the query too: oauthlib leaves it out of the credentials when the
    scopes lack `openid`, yet an approved request still stores it with the code."""
    challenge = credentials.get("code_challenge")
    if challenge is not None and not CODE_CHALLENGE.fullmatch(str(challenge)):
        return INVALID_CODE_CHALLENGE
    nonces = [str(credentials.get("nonce") or ""), *query.getlist("nonce")]
    if any(len(nonce) > NONCE_MAX_LENGTH for nonce in nonces):
        return INVALID_NONCE
    return None


def with_issuer(uri: str) -> str:
    """An authorization response URI with RFC 9207's `iss`, the metadata issuer, replacing any
    `iss` already in it (DOT's is derived from the host the browser called)."""
    parts = urlsplit(uri)
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.split("=")[0]) != "iss"]
    query = "&".join([*kept, urlencode({"iss": identity.issuer()})])
    return urlunsplit(parts._replace(query=query))


def callback_url(redirect_uri: str, params: dict[str, str]) -> str:
    """The client's (validated) callback carrying an error response and its `iss`."""
    return with_issuer(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params))


class AuthorizeView(AuthorizationView):
    """DOT's authorization view with the Connected App checks and Salesforce's consent page."""

    template_name = TEMPLATE

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # NUL and other C0 controls never belong in OAuth parameters, and the database refuses
        # NUL: answer with the error page before anything is validated or stored.
        pairs = [*request.GET.lists(), *request.POST.lists()]
        if any(CONTROL_CHARACTERS.search(value) for _name, values in pairs for value in values):
            context = {"pair": INVALID_PARAMETER, "callback": ""}
            return render(request, ERROR_TEMPLATE, context, status=400)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = set(request.GET.get("prompt", "").split())
        if "login" in prompt:
            return self.handle_prompt_login()
        if not self._same_org(request):
            return self.handle_prompt_login()
        if "code_challenge" in credentials and not request.GET.get("code_challenge_method"):
            credentials["code_challenge_method"] = "S256"  # Salesforce implies S256
        if credentials.get("code_challenge_method", "S256") != "S256":
            return self._back_with(PKCE_S256_ONLY, credentials)
        if (pair := _malformed_parameter(credentials, request.GET)) is not None:
            return self._back_with(pair, credentials)
        credentials.pop("resource", None)
        if "resource" in request.GET:  # RFC 8707, as DOT's view handles it
            resources = request.GET.getlist("resource")
            if not all(is_valid_resource_uri(uri) for uri in resources):
                return self._back_with(INVALID_RESOURCE, credentials)
            credentials["resource"] = resources
        app = ConnectedApp.objects.get(client_id=credentials["client_id"])
        user = request.user
        assert isinstance(user, User)
        denial, admin_approved = self._policy(app, user, request)
        if denial is not None:
            return self._denied(denial, app, credentials)
        if admin_approved or (self._approved(app, user, scopes) and "consent" not in prompt):
            return self._approve(scopes, credentials, app)
        self.oauth2_data = {**credentials, "scopes": scopes, "application": app}
        if "resource" in credentials:  # one hidden field, whitespace-separated (as DOT does)
            self.oauth2_data["resource"] = " ".join(credentials["resource"])
        context = self.get_context_data(
            form=self.get_form(), application=app, scopes=scopes, user=user, org=user.org
        )
        return self.render_to_response(context)

    def form_valid(self, form: Any) -> HttpResponse:
        app = ConnectedApp.objects.filter(client_id=form.cleaned_data.get("client_id")).first()
        user = self.request.user
        if app is None or not isinstance(user, User):
            context = {"pair": INVALID_CLIENT_ID, "callback": ""}
            return render(self.request, ERROR_TEMPLATE, context, status=400)
        if form.cleaned_data.get("allow"):
            denial, _ = self._policy(app, user, self.request)
            if denial is not None:
                return self._denied(denial, app, form.cleaned_data)
            scopes = str(form.cleaned_data.get("scope") or "").split()
            if app.redirect_uri_allowed(form.cleaned_data.get("redirect_uri") or ""):
                connected_app_consent_grant(app=app, user=user, scopes=scopes)
        return super().form_valid(form)

    def handle_prompt_login(self) -> HttpResponse:
        """prompt=login (or another org's My Domain): end this session, log in afresh."""
        user_session_end_current(request=self.request)
        return super().handle_prompt_login()

    def _same_org(self, request: HttpRequest) -> bool:
        org = getattr(request, "crm_org", None)
        user = request.user
        return org is None or (isinstance(user, User) and user.org_id == org.pk)

    def _policy(
        self, app: ConnectedApp, user: User, request: HttpRequest
    ) -> tuple[Denial | None, bool]:
        context, denial = policy_check(
            app=app, user=user, path=TokenPath.AUTHORIZE, ip=client_ip(request), now=timezone.now()
        )
        return denial, context.policy.permitted_users is PermittedUsers.ADMIN_APPROVED

    def _approved(self, app: ConnectedApp, user: User, scopes: list[str]) -> bool:
        consent = ConnectedAppConsent.objects.filter(app=app, user=user).first()
        return consent is not None and set(scopes) <= set(consent.scopes.split())

    def _approve(
        self, scopes: list[str], credentials: dict[str, Any], app: ConnectedApp
    ) -> HttpResponse:
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, app)
        return self.redirect(uri, app)

    def _back_with(self, pair: OAuthErrorPair, credentials: dict[str, Any]) -> HttpResponse:
        """A non-fatal error, returned on the (validated) callback."""
        params = pair.as_dict()
        if credentials.get("state"):
            params["state"] = credentials["state"]
        return HttpResponseRedirect(callback_url(credentials["redirect_uri"], params))

    def _denied(
        self, denial: Denial, app: ConnectedApp, credentials: dict[str, Any]
    ) -> HttpResponse:
        """Salesforce's error page, with the way back to the app carrying the error pair."""
        params = denial.pair.as_dict()
        if credentials.get("state"):
            params["state"] = credentials["state"]
        redirect_uri = credentials.get("redirect_uri") or ""
        callback = ""
        if app.redirect_uri_allowed(redirect_uri):
            callback = callback_url(redirect_uri, params)
        context = {"pair": denial.pair, "app": app, "callback": callback}
        return render(self.request, ERROR_TEMPLATE, context, status=400)

    def error_response(self, error: Any, application: Any, **kwargs: Any) -> HttpResponse:
        """Fatal errors (client, redirect URI) on a page; others back to the callback."""
        oauth_error = error.oauthlib_error
        pair = salesforce_pair(str(oauth_error.error), oauth_error.description)
        redirect_uri = oauth_error.redirect_uri or ""
        if isinstance(error, FatalClientError) or not redirect_uri:
            return render(self.request, ERROR_TEMPLATE, {"pair": pair, "callback": ""}, status=400)
        params = pair.as_dict()
        if getattr(oauth_error, "state", None):
            params["state"] = oauth_error.state
        return HttpResponseRedirect(callback_url(redirect_uri, params))

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """DOT's redirect (a code, or an error from its form handling) with our `iss`."""
        return cast(HttpResponse, super().redirect(with_issuer(redirect_to), application))


@require_POST
def switch_user(request: HttpRequest) -> HttpResponse:
    """Log in as someone else: end this session and come back to the same authorize URL."""
    next_url = request.POST.get("next", "")
    user_session_end_current(request=request)
    if not next_url.startswith("/services/oauth2/authorize?"):
        next_url = "/"
    return redirect_to_login(next_url)
