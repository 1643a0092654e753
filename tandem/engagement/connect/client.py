"""The one typed door to the CRM: the `CrmClient` protocol and its HTTP implementation.

Only this package talks to the CRM (an import-linter contract keeps it so). Every call has a
timeout. A call that never reached the CRM is retried with backoff; a lost answer or a
502/503/504 only for an idempotent method, never for a POST (token endpoint, creates).
"""

from __future__ import annotations

import os
import re
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings

from tandem.engagement.connect.crm_hosts import crm_url_problem

API_VERSION = "v62.0"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 150  # Salesforce refuses an exp more than 3 minutes ahead
# Clocks further apart than this are named when the CRM refuses an assertion (the `Date`
# header has whole seconds, and Salesforce allows a few minutes' lifetime at most).
CLOCK_SKEW_LIMIT = 30
TRANSIENT_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})  # PATCH: by external id
# The request surely never reached the CRM: safe to send again whatever the method.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class CrmError(Exception):
    """The CRM refused or could not be reached; `code` and `message` are what it said."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class CrmToken:
    """An access token and where to use it."""

    access_token: str
    instance_url: str
    identity_url: str
    issued_at: float
    scope: str = ""

    def __repr__(self) -> str:  # never print the token
        return f"CrmToken(instance_url={self.instance_url!r}, identity_url={self.identity_url!r})"


@dataclass(frozen=True)
class CrmIdentity:
    """Who a token speaks for."""

    user_id: str
    org_id: str
    username: str
    email: str
    display_name: str
    active: bool


@dataclass(frozen=True)
class ApiUsage:
    """The CRM's Sforce-Limit-Info: calls used in the rolling day, of the allocation."""

    used: int
    limit: int


@dataclass(frozen=True)
class CrmResult:
    """A REST answer and the usage header that came with it."""

    data: Any
    usage: ApiUsage | None = field(default=None)


class CrmClient(Protocol):
    """What Connect needs from a CRM."""

    def password_login(self, *, token_url: str, username: str, password: str) -> CrmToken: ...
    def jwt_login(self, *, token_url: str, audience: str, username: str) -> CrmToken: ...
    def code_exchange(
        self, *, token_url: str, code: str, verifier: str, redirect_uri: str
    ) -> CrmToken: ...
    def identity(self, *, token: CrmToken) -> CrmIdentity: ...
    def query(self, *, token: CrmToken, soql: str) -> CrmResult: ...
    def record_create(
        self, *, token: CrmToken, sobject: str, fields: dict[str, Any]
    ) -> CrmResult: ...
    def query_more(self, *, token: CrmToken, next_url: str) -> CrmResult: ...
    def query_all(self, *, token: CrmToken, soql: str) -> CrmResult: ...
    def describe_global(self, *, token: CrmToken) -> CrmResult: ...
    def describe(self, *, token: CrmToken, sobject: str) -> CrmResult: ...
    def report_run(self, *, token: CrmToken, report_id: str) -> CrmResult: ...
    def composite_create(self, *, token: CrmToken, records: list[dict[str, Any]]) -> CrmResult: ...
    def record_upsert(
        self, *, token: CrmToken, sobject: str, field: str, key: str, fields: dict[str, Any]
    ) -> CrmResult: ...


def _loopback(url: str) -> tuple[str, dict[str, str]]:
    """RFC 6761: `*.localhost` is the loopback host; connect there, keep the name as Host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith(".localhost"):
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}
    return url, {}


def clock_hint(response: httpx.Response) -> str:
    """For a refused JWT bearer grant: what the clocks say, when this host's and the CRM's (its
    `Date` header) differ by more than CLOCK_SKEW_LIMIT, since an assertion lives only
    ASSERTION_SECONDS from this host's time; else nothing."""
    try:
        crm_time = parsedate_to_datetime(response.headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError, IndexError):
        return ""
    skew = time.time() - crm_time
    if abs(skew) <= CLOCK_SKEW_LIMIT:
        return ""
    way = "ahead of" if skew > 0 else "behind"
    return (
        f" (this server's clock is {abs(skew):.0f} s {way} the CRM's, and an assertion lives "
        f"{ASSERTION_SECONDS} s: set both clocks right, e.g. with NTP, then try again)"
    )


@lru_cache(maxsize=4)
def signing_key(pem: str) -> RSAPrivateKey:
    """Connect's private key, parsed once per process: reading a PEM checks the RSA key, which
    costs far more than signing with it (about 100 ms against 1 ms per assertion)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CrmError("not_configured", "Connect's private key cannot be read") from exc
    if not isinstance(key, RSAPrivateKey):
        raise CrmError("not_configured", "Connect's private key is not an RSA key")
    return key


def usage_from(headers: httpx.Headers) -> ApiUsage | None:
    """Parse `Sforce-Limit-Info: api-usage=18/5000`."""
    match = LIMIT_INFO.search(headers.get("sforce-limit-info", ""))
    return ApiUsage(int(match.group(1)), int(match.group(2))) if match else None


def tls_context(ca_file: str) -> ssl.SSLContext:
    """The TLS context that checks the CRM's certificate (CRM_CA_FILE, else the usual CAs),
    made once per file version: each call has a client of its own, and loading the CAs took
    longer than many a call."""
    version = os.stat(ca_file).st_mtime_ns if ca_file else 0
    return _tls_context(ca_file, version)


@lru_cache(maxsize=8)
def _tls_context(ca_file: str, version: int) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=ca_file or True)


class HttpCrmClient:
    """The real client, on httpx."""

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        private_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: int = 2,
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self.consumer_key = consumer_key or settings.MC_CONSUMER_KEY or ""
        self.consumer_secret = consumer_secret or settings.MC_CONSUMER_SECRET or ""
        self.private_key = private_key or settings.CONNECT_PRIVATE_KEY or ""
        self.retries = retries
        self.on_call = on_call
        self._http = httpx.Client(
            timeout=settings.CONNECT_HTTP_TIMEOUT,
            verify=tls_context(settings.CRM_CA_FILE or ""),
            transport=transport,
            follow_redirects=False,
        )

    # --- transport -------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call, retried with backoff only when a retry cannot do it twice: always when
        the connection was never made, and after a lost or transient answer only for an
        idempotent method (a POST may have been committed: a code used, a record created)."""
        target, headers = _loopback(url)
        headers.update(kwargs.pop("headers", {}))
        idempotent = method.upper() in IDEMPOTENT_METHODS
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, target, headers=headers, **kwargs)
            except NEVER_SENT as exc:
                if last:
                    raise CrmError("unreachable", f"the CRM did not answer ({exc})") from exc
            except httpx.TransportError as exc:
                if last or not idempotent:
                    raise CrmError(
                        "unreachable", f"the CRM's answer was lost ({type(exc).__name__})"
                    ) from exc
            else:
                transient = response.status_code in TRANSIENT_STATUSES
                if not transient or last or not idempotent:
                    return response
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, token_url: str, form: dict[str, str]) -> CrmToken:
        response = self._send("POST", f"{token_url.rstrip('/')}/services/oauth2/token", data=form)
        body = _json(response)
        if response.status_code != 200:
            description = str(body.get("error_description", response.reason_phrase))
            if form.get("grant_type") == JWT_BEARER:
                description += clock_hint(response)
            raise CrmError(
                str(body.get("error", "unknown_error")), description, response.status_code
            )
        instance_url = str(body.get("instance_url", token_url)).rstrip("/")
        identity_url = str(body.get("id", ""))
        for url in (instance_url, identity_url):
            if problem := crm_url_problem(url):
                raise CrmError("untrusted_url", f"the CRM's answer names {problem}")
        return CrmToken(
            access_token=str(body["access_token"]),
            instance_url=instance_url,
            identity_url=identity_url,
            issued_at=time.time(),
            scope=str(body.get("scope", "")),
        )

    def _client_form(self) -> dict[str, str]:
        form = {"client_id": self.consumer_key}
        if self.consumer_secret:
            form["client_secret"] = self.consumer_secret
        return form

    # --- OAuth -----------------------------------------------------------------------------

    def password_login(self, *, token_url: str, username: str, password: str) -> CrmToken:
        """Legacy authentication: the username-password flow (password + security token)."""
        form = {"grant_type": "password", "username": username, "password": password}
        return self._token(token_url, {**form, **self._client_form()})

    def jwt_login(self, *, token_url: str, audience: str, username: str) -> CrmToken:
        """Connected App authentication: an RS256 assertion for `username` (RFC 7523)."""
        if not self.private_key or not self.consumer_key:
            raise CrmError("not_configured", "Connect has no private key or consumer key")
        now = int(time.time())
        claims = {
            "iss": self.consumer_key,
            "sub": username,
            "aud": audience.rstrip("/"),
            "exp": now + ASSERTION_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        try:
            assertion = jwt.encode(claims, signing_key(self.private_key), algorithm="RS256")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise CrmError("not_configured", "Connect's private key cannot be read") from exc
        return self._token(token_url, {"grant_type": JWT_BEARER, "assertion": assertion})

    def code_exchange(
        self, *, token_url: str, code: str, verifier: str, redirect_uri: str
    ) -> CrmToken:
        """The web-server flow's code for a token (PKCE)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        return self._token(token_url, {**form, **self._client_form()})

    # --- REST ------------------------------------------------------------------------------

    def _rest(self, token: CrmToken, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))  # a Bulk results read asks for CSV
        response = self._send(method, url, headers=headers, **kwargs)
        if self.on_call is not None:
            self.on_call(url)
        if response.status_code >= 400:
            body = _json(response)
            first = body[0] if isinstance(body, list) and body else body
            if isinstance(first, dict):
                code = first.get("errorCode") or first.get("error") or "unknown_error"
                message = first.get("message") or first.get("error_description") or ""
            else:
                code, message = "unknown_error", response.reason_phrase
            raise CrmError(str(code), str(message), response.status_code)
        return response

    def identity(self, *, token: CrmToken) -> CrmIdentity:
        """GET the identity URL the token response named."""
        body = _json(self._rest(token, "GET", token.identity_url))
        return CrmIdentity(
            user_id=str(body.get("user_id", "")),
            org_id=str(body.get("organization_id", "")),
            username=str(body.get("username", "")),
            email=str(body.get("email", "")),
            display_name=str(body.get("display_name", "")),
            active=bool(body.get("active", False)),
        )

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        """SOQL through /query."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/query/"
        response = self._rest(token, "GET", url, params={"q": soql})
        return CrmResult(_json(response), usage_from(response.headers))

    def query_all(self, *, token: CrmToken, soql: str) -> CrmResult:
        """SOQL through /queryAll: deleted records too (IsDeleted = true)."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/queryAll/"
        response = self._rest(token, "GET", url, params={"q": soql})
        return CrmResult(_json(response), usage_from(response.headers))

    def describe_global(self, *, token: CrmToken) -> CrmResult:
        """The objects the CRM offers (describeGlobal)."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/sobjects/"
        response = self._rest(token, "GET", url)
        return CrmResult(_json(response), usage_from(response.headers))

    def describe(self, *, token: CrmToken, sobject: str) -> CrmResult:
        """One object's fields as the token's user sees them."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/sobjects/{sobject}/describe/"
        response = self._rest(token, "GET", url)
        return CrmResult(_json(response), usage_from(response.headers))

    def record_create(self, *, token: CrmToken, sobject: str, fields: dict[str, Any]) -> CrmResult:
        """POST one record; `data` is the answer (`{"id", "success", "errors"}`)."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/sobjects/{sobject}/"
        response = self._rest(token, "POST", url, json=fields)
        return CrmResult(_json(response), usage_from(response.headers))

    def query_more(self, *, token: CrmToken, next_url: str) -> CrmResult:
        """The next batch of a query (`nextRecordsUrl`)."""
        response = self._rest(token, "GET", f"{token.instance_url}{next_url}")
        return CrmResult(_json(response), usage_from(response.headers))

    def report_run(self, *, token: CrmToken, report_id: str) -> CrmResult:
        """Run a report synchronously with its detail rows (Analytics REST API)."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/analytics/reports/{report_id}"
        response = self._rest(token, "GET", url, params={"includeDetails": "true"})
        return CrmResult(_json(response), usage_from(response.headers))

    def composite_create(self, *, token: CrmToken, records: list[dict[str, Any]]) -> CrmResult:
        """POST up to 200 records (each with `attributes.type`); one result per record."""
        url = f"{token.instance_url}/services/data/{API_VERSION}/composite/sobjects/"
        response = self._rest(token, "POST", url, json={"allOrNone": False, "records": records})
        return CrmResult(_json(response), usage_from(response.headers))

    def record_upsert(
        self, *, token: CrmToken, sobject: str, field: str, key: str, fields: dict[str, Any]
    ) -> CrmResult:
        """PATCH one record by an external-id field (created when missing)."""
        url = (
            f"{token.instance_url}/services/data/{API_VERSION}/sobjects/{sobject}/{field}/"
            f"{quote(key, safe='')}"
        )
        response = self._rest(token, "PATCH", url, json=fields)
        return CrmResult(_json(response), usage_from(response.headers))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
