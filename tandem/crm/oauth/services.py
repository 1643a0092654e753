"""Token writes: issue a session, revoke one token by its value or everything one user holds for
one app, the jti of JWT assertions, and authorization codes' use."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import set_token_value

from tandem.core.db import returning_without_waiting_for_disk
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.oauth.crypto import session_id, token_checksum
from tandem.crm.oauth.models import AccessToken, Grant, JwtAssertionUse, RefreshToken
from tandem.crm.users.models import User


def session_token_issue(
    *,
    user: User,
    lifetime: timedelta,
    app: ConnectedApp | None = None,
    scope: str = "api",
    now: datetime | None = None,
) -> str:
    """A new access token for `user`, as a Salesforce session: `<15-character org id>!<opaque>`
    (what `sf org login access-token` accepts), valid for `lifetime`, through `app` or none
    (the SOAP API's login()). Only its checksum is stored; the value is returned once."""
    raw = session_id(user.org_id)
    token = AccessToken(
        user=user, application=app, scope=scope, expires=(now or timezone.now()) + lifetime
    )
    set_token_value(token, raw)
    token.save(force_insert=True)
    return raw


@transaction.atomic
def token_revoke(*, token: str) -> bool:
    """/services/oauth2/revoke: an access token revokes only itself (docs/reference/
    oauth-policies.md, Revocation);
    a refresh token is revoked with its whole family, access tokens included. False when the
    token is unknown."""
    checksum = token_checksum(token)
    access = AccessToken.objects.filter(token_checksum=checksum).first()
    if access is not None:
        # Expired rather than deleted: DOT refuses a refresh token whose access token is gone,
        # and DOT's revoke_access_token would revoke the refresh token too.
        AccessToken.objects.filter(pk=access.pk).update(
            expires=timezone.now() - timedelta(seconds=1)
        )
        return True
    refresh = RefreshToken.objects.filter(token_checksum=checksum, revoked__isnull=True).first()
    if refresh is None:
        return False
    if refresh.token_family:
        RefreshToken.revoke_family(refresh.token_family)
    else:
        refresh.revoke()
    return True


@transaction.atomic
def tokens_revoke_for(*, app: ConnectedApp, user: User) -> int:
    """Revoke the user's refresh tokens and delete their access tokens for the app."""
    refresh = RefreshToken.objects.filter(application=app, user=user, revoked__isnull=True)
    families = set(refresh.values_list("token_family", flat=True))
    count = refresh.count()
    for family in families:
        RefreshToken.revoke_family(family)
    access = AccessToken.objects.filter(application=app, user=user)
    count += access.count()
    access.delete()
    return count


def jti_record(*, app_id: str, jti_hash: str, expires_at: datetime) -> bool:
    """Remember an assertion's jti; False when it was already used (one statement, no
    savepoint: INSERT … ON CONFLICT DO NOTHING, on PostgreSQL and SQLite alike). Committed
    like the token it precedes, without waiting for the disk: a PostgreSQL crash forgets the
    jtis and the tokens of its last fraction of a second together (ADR 0007)."""
    table = connection.ops.quote_name(JwtAssertionUse._meta.db_table)
    sql = (
        f"INSERT INTO {table} (app_id, jti_hash, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
        "ON CONFLICT (app_id, jti_hash) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            returning_without_waiting_for_disk(sql),
            [app_id, jti_hash, connection.ops.adapt_datetimefield_value(expires_at)],
        )
        return cursor.fetchone() is not None


def grant_claim(grant: Grant) -> bool:
    """Mark the authorization code used; False if another request marked it first."""
    claimed = Grant.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=timezone.now())
    return bool(claimed)


def grant_record_issued(
    grant: Grant, *, access_token: AccessToken | None, token_family: uuid.UUID | None
) -> None:
    """Remember what the code's exchange issued."""
    Grant.objects.filter(pk=grant.pk).update(
        issued_access_token=access_token, issued_token_family=token_family
    )


def tokens_revoke_issued_by(grant: Grant) -> None:
    """Revoke the refresh token family and delete the access token a code's exchange issued."""
    RefreshToken.revoke_family(grant.issued_token_family)
    if grant.issued_access_token_id is not None:
        AccessToken.objects.filter(pk=grant.issued_access_token_id).delete()


def grants_clear_expired() -> int:
    """Delete codes expired for over an hour (a reused code is refused as expired anyway)."""
    deleted, _ = Grant.objects.filter(expires__lt=timezone.now() - timedelta(hours=1)).delete()
    return deleted


def refresh_families_cap(*, app_id: str, user_id: str, keep: int) -> int:
    """Keep the user's `keep` newest refresh token families for the app and revoke the rest
    (Salesforce: five approvals per user per app; a sixth revokes the oldest)."""
    live = (
        RefreshToken.objects.filter(application_id=app_id, user_id=user_id, revoked__isnull=True)
        .values_list("token_family", flat=True)
        .order_by("-family_created_at", "-id")
    )
    families = list(dict.fromkeys(live))  # newest first, each family once
    for family in families[keep:]:
        RefreshToken.revoke_family(family)
    return len(families[keep:])


def refresh_token_touch(*, token: RefreshToken, at: datetime) -> None:
    """Record a use of a refresh token that was not rotated (its `updated` is its last use)."""
    RefreshToken.objects.filter(pk=token.pk).update(updated=at)
