"""Connected apps: create, edit policies, rotate the secret, link profiles and permission sets,
trusted IP ranges, record approvals and usage, revoke; every Setup change audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tandem.core.db import Statement
from tandem.crm.connectedapps.errors import ConnectedAppInvalidError
from tandem.crm.connectedapps.models import (
    ConnectedApp,
    ConnectedAppAccess,
    ConnectedAppConsent,
    ConnectedAppIpRange,
    ConnectedAppPolicy,
    ConnectedAppUsage,
)
from tandem.crm.connectedapps.selectors import connected_app_ip_range_find
from tandem.crm.connectedapps.validation import (
    callback_url_errors,
    certificate_errors,
    policy_errors,
    scope_errors,
)
from tandem.crm.oauth.crypto import encrypt_secret, hash_secret, new_consumer_secret
from tandem.crm.oauth.policy import RefreshTokenPolicy, ValidityUnit, parse_refresh_token_policy
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import IpRangeKind, ip_range_add, ip_range_delete
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.models import Profile, User

SECTION = "Connected Apps"
MARKETING_CLOUD_KEY = "marketing_cloud"
MARKETING_CLOUD_NAME = "Salesforce Marketing Cloud"
MARKETING_CLOUD_SCOPES = "api refresh_token offline_access id openid"


@dataclass(frozen=True)
class CreatedApp:
    """A new app and its consumer secret, shown this once."""

    app: ConnectedApp
    consumer_secret: str


def _app_errors(
    *, name: str, callback_urls: list[str], scopes: list[str], certificate: str, contact_email: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 80:
        errors["name"] = ["Enter a name of at most 80 characters."]
    if contact_email and ("@" not in contact_email or len(contact_email) > 254):
        errors["contact_email"] = ["Enter a valid email address."]
    for field, found in (
        ("callback_urls", callback_url_errors(callback_urls)),
        ("oauth_scopes", scope_errors(scopes)),
        ("certificate", certificate_errors(certificate)),
    ):
        if found:
            errors[field] = found
    return errors


def _set_secret(app: ConnectedApp, secret: str) -> None:
    app.client_secret = hash_secret(secret)
    app.consumer_secret_encrypted = encrypt_secret(secret)


@transaction.atomic
def connected_app_create(
    *,
    org: Org,
    actor: User | None,
    name: str,
    callback_urls: list[str],
    scopes: list[str],
    contact_email: str = "",
    certificate: str = "",
    pkce_required: bool = True,
    description: str = "",
    refresh_token_rotation: bool = False,
) -> CreatedApp:
    """A new app of `org` with the default policies there; its secret is returned once."""
    errors = _app_errors(
        name=name,
        callback_urls=callback_urls,
        scopes=scopes,
        certificate=certificate,
        contact_email=contact_email,
    )
    if errors:
        raise ConnectedAppInvalidError(errors)
    secret = new_consumer_secret()
    app = ConnectedApp(
        org=org,
        name=name.strip(),
        contact_email=contact_email.strip(),
        description=description,
        redirect_uris="\n".join(callback_urls),
        oauth_scopes=" ".join(scopes),
        certificate=certificate.strip(),
        pkce_required=pkce_required,
        refresh_token_rotation_enabled=refresh_token_rotation,
        client_type=ConnectedApp.CLIENT_CONFIDENTIAL,
        algorithm=ConnectedApp.RS256_ALGORITHM,
        authorization_grant_type=ConnectedApp.GRANT_AUTHORIZATION_CODE,
    )
    _set_secret(app, secret)
    app.save()
    ConnectedAppPolicy.objects.create(app=app, org=org)
    setup_audit_record(
        org=org,
        actor=actor,
        action="connected_app.created",
        section=SECTION,
        target=app.name,
        new=connected_app_snapshot(app),
    )
    return CreatedApp(app=app, consumer_secret=secret)


def connected_app_snapshot(app: ConnectedApp) -> dict[str, Any]:
    """The app's settings as the audit trail records them (never the secret)."""
    return {
        "name": app.name,
        "consumer_key": app.client_id,
        "callback_urls": app.callback_urls,
        "oauth_scopes": app.scope_list,
        "pkce_required": app.pkce_required,
        "refresh_token_rotation": app.refresh_token_rotation_enabled,
        "certificate": "set" if app.certificate else "",
        "contact_email": app.contact_email,
    }


@transaction.atomic
def connected_app_update(
    *,
    actor: User | None,
    app: ConnectedApp,
    org: Org,
    name: str,
    callback_urls: list[str],
    scopes: list[str],
    contact_email: str,
    certificate: str,
    pkce_required: bool,
    refresh_token_rotation: bool | None = None,
) -> ConnectedApp:
    """Edit the app's definition (its owning org only); Setup's Edit and the command line.
    `refresh_token_rotation` None keeps the current setting."""
    errors = _app_errors(
        name=name,
        callback_urls=callback_urls,
        scopes=scopes,
        certificate=certificate,
        contact_email=contact_email,
    )
    if app.org_id != org.pk:
        errors["app"] = ["Only the org that owns the app can edit its settings."]
    if errors:
        raise ConnectedAppInvalidError(errors)
    old = connected_app_snapshot(app)
    app.name, app.contact_email = name.strip(), contact_email.strip()
    app.redirect_uris, app.oauth_scopes = "\n".join(callback_urls), " ".join(scopes)
    app.certificate, app.pkce_required = certificate.strip(), pkce_required
    if refresh_token_rotation is not None:
        app.refresh_token_rotation_enabled = refresh_token_rotation
    app.save()
    setup_audit_record(
        org=org,
        actor=actor,
        action="connected_app.changed",
        section=SECTION,
        target=app.name,
        old=old,
        new=connected_app_snapshot(app),
    )
    return app


@transaction.atomic
def connected_app_secret_rotate(*, actor: User | None, app: ConnectedApp, org: Org) -> str:
    """A new consumer secret, returned once; the old one stops working at once. Only the org
    that owns the app may rotate it, whoever the caller is (Setup or the command line)."""
    if app.org_id != org.pk:
        raise ConnectedAppInvalidError(
            {"app": ["Only the org that owns the app can rotate its secret."]}
        )
    secret = new_consumer_secret()
    _set_secret(app, secret)
    app.secret_rotated_at = timezone.now()
    app.save(update_fields=["client_secret", "consumer_secret_encrypted", "secret_rotated_at"])
    setup_audit_record(
        org=org,
        actor=actor,
        action="connected_app.secret_rotated",
        section=SECTION,
        target=app.name,
    )
    return secret


def policy_snapshot(row: ConnectedAppPolicy) -> dict[str, Any]:
    return {
        "permitted_users": row.permitted_users,
        "ip_relaxation": row.ip_relaxation,
        "refresh_token_policy": row.as_policy().refresh_token_policy_value,
        "session_timeout_minutes": row.session_timeout_minutes,
    }


@transaction.atomic
def connected_app_policy_set(
    *,
    actor: User | None,
    policy: ConnectedAppPolicy,
    permitted_users: str,
    ip_relaxation: str,
    refresh_token_policy: str,
    refresh_token_validity: int = 0,
    refresh_token_unit: str = ValidityUnit.DAYS,
    session_timeout_minutes: int | None = None,
) -> ConnectedAppPolicy:
    """Save the OAuth policies; the next token request is judged by them."""
    errors = policy_errors(
        permitted_users=permitted_users,
        ip_relaxation=ip_relaxation,
        refresh_token_policy=refresh_token_policy,
        validity=refresh_token_validity,
        unit=refresh_token_unit,
    )
    if session_timeout_minutes is not None and not 1 <= session_timeout_minutes <= 24 * 60:
        errors["session_timeout_minutes"] = ["Enter minutes from 1 to 1440, or leave it empty."]
    if errors:
        raise ConnectedAppInvalidError(errors)
    timed = refresh_token_policy in (
        RefreshTokenPolicy.SPECIFIC_INACTIVITY,
        RefreshTokenPolicy.SPECIFIC_LIFETIME,
    )
    old = policy_snapshot(policy)
    policy.permitted_users, policy.ip_relaxation = permitted_users, ip_relaxation
    policy.refresh_token_policy = refresh_token_policy
    policy.refresh_token_validity = refresh_token_validity if timed else 0
    policy.refresh_token_unit = refresh_token_unit if timed else ValidityUnit.DAYS
    policy.session_timeout_minutes = session_timeout_minutes
    policy.save()
    setup_audit_record(
        org=policy.org,
        actor=actor,
        action="connected_app.policy_changed",
        section=SECTION,
        target=policy.app.name,
        old=old,
        new=policy_snapshot(policy),
    )
    return policy


def connected_app_policy_change(
    *,
    actor: User | None,
    policy: ConnectedAppPolicy,
    permitted_users: str | None = None,
    ip_relaxation: str | None = None,
    refresh_token_policy: str | None = None,
    session_timeout: int | None = None,
) -> ConnectedAppPolicy:
    """Change some of the policies, keeping the others: `refresh_token_policy` as written in
    Setup's metadata (`specific_lifetime:1:DAYS`), `session_timeout` 0 for the default."""
    kind, validity, unit = (
        policy.refresh_token_policy,
        policy.refresh_token_validity,
        policy.refresh_token_unit,
    )
    if refresh_token_policy:
        try:
            kind, validity, unit = parse_refresh_token_policy(refresh_token_policy)
        except ValueError as exc:
            raise ConnectedAppInvalidError({"refresh_token_policy": [str(exc)]}) from None
    minutes = (
        policy.session_timeout_minutes if session_timeout is None else (session_timeout or None)
    )
    return connected_app_policy_set(
        actor=actor,
        policy=policy,
        permitted_users=permitted_users or policy.permitted_users,
        ip_relaxation=ip_relaxation or policy.ip_relaxation,
        refresh_token_policy=kind,
        refresh_token_validity=validity,
        refresh_token_unit=unit,
        session_timeout_minutes=minutes,
    )


def _access_names(policy: ConnectedAppPolicy, field: str) -> list[str]:
    rows = policy.access.filter(**{f"{field}__isnull": False}).select_related(field)
    return sorted(str(getattr(row, field)) for row in rows)


def _access_set(
    actor: User | None, policy: ConnectedAppPolicy, field: str, items: list[Any], action: str
) -> None:
    """Exactly `items` (permission sets or profiles) pre-authorize the app, audited."""
    old = _access_names(policy, field)
    policy.access.filter(**{f"{field}__isnull": False}).exclude(**{f"{field}__in": items}).delete()
    held = set(policy.access.values_list(f"{field}_id", flat=True))
    for item in items:
        if item.pk not in held:
            ConnectedAppAccess.objects.create(policy=policy, **{field: item})
    setup_audit_record(
        org=policy.org,
        actor=actor,
        action=action,
        section=SECTION,
        target=policy.app.name,
        old=old,
        new=_access_names(policy, field),
    )


@transaction.atomic
def connected_app_permission_sets_set(
    *, actor: User | None, policy: ConnectedAppPolicy, permission_sets: list[PermissionSet]
) -> None:
    """Manage Permission Sets: exactly these sets of the org pre-authorize their holders."""
    if any(ps.org_id != policy.org_id for ps in permission_sets):
        raise ConnectedAppInvalidError({"permission_sets": ["Choose permission sets of this org."]})
    _access_set(
        actor, policy, "permission_set", permission_sets, "connected_app.permission_sets_changed"
    )


@transaction.atomic
def connected_app_profiles_set(
    *, actor: User | None, policy: ConnectedAppPolicy, profiles: list[Profile]
) -> None:
    """Manage Profiles: exactly these profiles of the org pre-authorize their users."""
    if any(p.org_id != policy.org_id for p in profiles):
        raise ConnectedAppInvalidError({"profiles": ["Choose profiles of this org."]})
    _access_set(actor, policy, "profile", profiles, "connected_app.profiles_changed")


@transaction.atomic
def connected_app_access_link(
    *,
    actor: User | None,
    policy: ConnectedAppPolicy,
    permission_set: PermissionSet | None = None,
    profile: Profile | None = None,
    linked: bool = True,
) -> None:
    """Link (or, with `linked` False, unlink) one permission set or profile, keeping the others:
    the Manage pages' set changed by one."""
    if permission_set is not None:
        sets = [
            ps
            for ps in PermissionSet.objects.filter(pk__in=policy.access.values("permission_set_id"))
            if ps.pk != permission_set.pk
        ]
        chosen_sets = [*sets, permission_set] if linked else sets
        connected_app_permission_sets_set(actor=actor, policy=policy, permission_sets=chosen_sets)
    if profile is not None:
        profiles = [
            p
            for p in Profile.objects.filter(pk__in=policy.access.values("profile_id"))
            if p.pk != profile.pk
        ]
        chosen = [*profiles, profile] if linked else profiles
        connected_app_profiles_set(actor=actor, policy=policy, profiles=chosen)


TRUSTED_IP_RANGES = IpRangeKind(SECTION, "connected_app.ip_range", ConnectedAppInvalidError)


def connected_app_ip_range_add(
    *,
    actor: User | None,
    policy: ConnectedAppPolicy,
    start_address: str,
    end_address: str,
    description: str = "",
) -> ConnectedAppIpRange:
    """Add a Trusted IP Range for OAuth Web Server Flow to the app in the policy's org."""
    row = ConnectedAppIpRange(
        app=policy.app,
        org=policy.org,
        start_address=start_address,
        end_address=end_address,
        description=description,
    )
    row.normalize()  # the audit names the range in the spelling it is stored in
    return ip_range_add(
        actor=actor,
        org=policy.org,
        row=row,
        kind=TRUSTED_IP_RANGES,
        target=f"{policy.app.name}: {row}",
    )


def connected_app_ip_range_delete(
    *, actor: User | None, policy: ConnectedAppPolicy, row: ConnectedAppIpRange
) -> None:
    """Remove one of the app's trusted IP ranges in the policy's org."""
    if (row.app_id, row.org_id) != (policy.app_id, policy.org_id):
        raise ConnectedAppInvalidError({"range": ["No such range for this app in this org."]})
    ip_range_delete(
        actor=actor,
        org=policy.org,
        row=row,
        kind=TRUSTED_IP_RANGES,
        target=f"{policy.app.name}: {row}",
    )


def connected_app_ip_range_remove(
    *, actor: User | None, policy: ConnectedAppPolicy, start_address: str, end_address: str
) -> None:
    """Remove the app's range with these ends (in any spelling) in the policy's org."""
    found = connected_app_ip_range_find(
        policy=policy, start_address=start_address, end_address=end_address
    )
    if found is None:
        raise ConnectedAppInvalidError(
            {"range": [f"No IP range {start_address}-{end_address} for {policy.app.name}."]}
        )
    connected_app_ip_range_delete(actor=actor, policy=policy, row=found)


def connected_app_policy_ensure(*, app: ConnectedApp, org: Org) -> ConnectedAppPolicy:
    """The app's row in the org's list, created with the default policies on first use."""
    try:
        with transaction.atomic():
            row, _ = ConnectedAppPolicy.objects.get_or_create(app=app, org=org)
    except IntegrityError:
        row = ConnectedAppPolicy.objects.get(app=app, org=org)
    return row


@transaction.atomic
def connected_app_consent_grant(*, app: ConnectedApp, user: User, scopes: list[str]) -> None:
    """Allow: a durable approval (of the app's own scopes only); the app appears in the
    user's org's list."""
    connected_app_policy_ensure(app=app, org=user.org)
    allowed = [scope for scope in scopes if scope in app.scope_list]
    ConnectedAppConsent.objects.update_or_create(
        app=app, user=user, defaults={"scopes": " ".join(allowed), "granted_at": timezone.now()}
    )


def connected_app_usage_statement(*, app: ConnectedApp, user: User, at: datetime) -> Statement:
    """The upsert counting one token for (app, user) at `at`, for `write_together`; the app's
    policy row in the user's org must exist (`connected_app_policy_ensure`)."""
    return _usage_upsert_sql(connection.vendor), [
        app.pk,
        user.pk,
        user.org_id,
        connection.ops.adapt_datetimefield_value(at),
        connection.ops.adapt_datetimefield_value(at),
    ]


@lru_cache(maxsize=2)
def _usage_upsert_sql(vendor: str) -> str:
    table = connection.ops.quote_name(ConnectedAppUsage._meta.db_table)
    return (
        f"INSERT INTO {table} (app_id, user_id, org_id, first_used_at, last_used_at, use_count) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, 1) ON CONFLICT (app_id, user_id) DO UPDATE SET "
        f"last_used_at = excluded.last_used_at, use_count = {table}.use_count + 1"
    )


@transaction.atomic
def connected_app_access_revoke(*, actor: User | None, app: ConnectedApp, user: User) -> int:
    """Revoke: the user's tokens for the app and their approval; returns tokens revoked."""
    from tandem.crm.oauth.services import tokens_revoke_for

    count = tokens_revoke_for(app=app, user=user)
    ConnectedAppConsent.objects.filter(app=app, user=user).delete()
    ConnectedAppUsage.objects.filter(app=app, user=user).delete()
    if actor is not None and actor.pk != user.pk:
        setup_audit_record(
            org=user.org,
            actor=actor,
            action="connected_app.access_revoked",
            section=SECTION,
            target=f"{app.name}: {user.username}",
        )
    return count


@transaction.atomic
def connected_app_deployment_sync() -> ConnectedApp | None:
    """The deployment's Salesforce Marketing Cloud app, created or updated from settings."""
    key = settings.MC_CONSUMER_KEY
    if not key:
        return None
    app = (
        ConnectedApp.objects.select_for_update().filter(deployment_key=MARKETING_CLOUD_KEY).first()
    )
    app = app or ConnectedApp(
        deployment_key=MARKETING_CLOUD_KEY,
        name=MARKETING_CLOUD_NAME,
        oauth_scopes=MARKETING_CLOUD_SCOPES,
        algorithm=ConnectedApp.RS256_ALGORITHM,
        authorization_grant_type=ConnectedApp.GRANT_AUTHORIZATION_CODE,
    )
    app.client_id = key
    app.redirect_uris = settings.MC_CALLBACK_URL or ""
    app.certificate = (settings.MC_CERTIFICATE or "").strip()
    secret = settings.MC_CONSUMER_SECRET
    app.client_type = ConnectedApp.CLIENT_CONFIDENTIAL if secret else ConnectedApp.CLIENT_PUBLIC
    if secret:
        _set_secret(app, secret)
    else:
        app.client_secret, app.consumer_secret_encrypted = "", ""
    app.save()
    return app
