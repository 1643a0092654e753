"""SOAP API sessions: `login()` through the CRM's own password login, and `logout()`.

A SOAP session belongs to no connected app, as on Salesforce: the user's profile decides
where and when they may log in, the security token is required outside the org's trusted
ranges, and the session is an access token without an application (docs/adr/0520).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import set_token_value

from tandem.core.ids import id18
from tandem.crm.oauth.crypto import token_checksum
from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import LoginType, User
from tandem.crm.users.services import user_authenticate_password

SESSION_SCOPE = "api"
# The opaque part of a session id: letters, digits, '.' and '_' (the sf CLI accepts
# `<org id>!` followed by word characters and dots only).
SESSION_ALPHABET = string.ascii_letters + string.digits + "._"
SESSION_OPAQUE_LENGTH = 96
NO_ORG = ""  # no org has this id: a login scoped to two different orgs finds no user
MAX_APPLICATION_NAME = 120


@dataclass(frozen=True)
class SoapSession:
    """A session login() opened: the user, the session id (shown once) and its lifetime."""

    user: User
    session_id: str
    seconds_valid: int


class SoapLoginRefusedError(Exception):
    """The login failed; `status` is the Login History status recorded (if a user was known)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def session_issue(*, user: User, lifetime: timedelta, now: datetime) -> str:
    """A new session id for `user` in Salesforce's shape, `<15-character org id>!<opaque>`,
    stored as an access token without a connected app (only its checksum at rest)."""
    opaque = "".join(secrets.choice(SESSION_ALPHABET) for _ in range(SESSION_OPAQUE_LENGTH))
    raw = f"{user.org_id[:15]}!{opaque}"
    token = AccessToken(user=user, application=None, scope=SESSION_SCOPE, expires=now + lifetime)
    set_token_value(token, raw)
    token.save(force_insert=True)
    return raw


def _scope_org(*, host_org: Org | None, organization_id: str | None) -> Org | None:
    """The org a login is limited to: the My Domain it arrived on and the LoginScopeHeader's
    organizationId, which must agree. Only the id is needed (the user lookup filters by it)."""
    wanted = set()
    if host_org is not None:
        wanted.add(host_org.pk)
    if organization_id is not None and organization_id.strip():
        wanted.add(_id18_or_none(organization_id) or NO_ORG)
    if not wanted:
        return None
    return Org(pk=wanted.pop() if len(wanted) == 1 else NO_ORG)


def _id18_or_none(value: str) -> str | None:
    try:
        return id18(value)
    except ValueError:
        return None


def _application_name(client: str | None) -> str:
    """CallOptions' client names the application in Login History (Salesforce: N/A without)."""
    name = " ".join((client or "").split())
    return name[:MAX_APPLICATION_NAME] if name and name.isprintable() else "N/A"


def soap_login(
    *,
    username: str,
    password: str,
    ip: str,
    host_org: Org | None = None,
    organization_id: str | None = None,
    client: str | None = None,
) -> SoapSession:
    """The CRM's password login for the API (lockout, per-address throttle, security token,
    the profile's login hours and IP ranges, one Login History row for a known user), then a
    session lasting the org's session timeout. Raises SoapLoginRefusedError (after the
    refusal's Login History row is committed)."""
    outcome = _login_and_session(
        username=username,
        password=password,
        ip=ip,
        org=_scope_org(host_org=host_org, organization_id=organization_id),
        application=_application_name(client),
    )
    if isinstance(outcome, str):
        raise SoapLoginRefusedError(outcome)
    return outcome


@transaction.atomic
def _login_and_session(
    *, username: str, password: str, ip: str, org: Org | None, application: str
) -> SoapSession | str:
    """The session, or the Login History status of the refusal."""
    now = timezone.now()
    result = user_authenticate_password(
        username=username,
        password=password,
        ip=ip,
        org=org,
        login_type=LoginType.API,
        application=application,
        api=True,
        now=now,
    )
    if result.user is None:
        return result.status
    user = result.user
    lifetime = timedelta(minutes=user.org.session_timeout_minutes)
    session_id = session_issue(user=user, lifetime=lifetime, now=now)
    seconds = int(lifetime.total_seconds())
    return SoapSession(user=user, session_id=session_id, seconds_valid=seconds)


def soap_logout(*, session_id: str, host_org: Org | None = None) -> bool:
    """End the live session `session_id` (any access token: Salesforce's OAuth tokens are
    sessions too) at once; False when there is none, or it belongs to another org than the
    My Domain the call arrived on."""
    live = AccessToken.objects.filter(
        token_checksum=token_checksum(session_id), expires__gt=timezone.now()
    )
    if host_org is not None:
        live = live.filter(user__org=host_org)
    ended = live.update(expires=timezone.now() - timedelta(seconds=1))
    return ended > 0
