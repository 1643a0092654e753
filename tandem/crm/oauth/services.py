"""Token writes: revoke one token by its value, or everything one user holds for one app."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from oauth2_provider.models import revoke_access_token

from tandem.core.db import returning_without_waiting_for_disk
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.oauth.crypto import token_checksum
from tandem.crm.oauth.models import AccessToken, JwtAssertionUse, RefreshToken
from tandem.crm.users.models import User


@transaction.atomic
def token_revoke(*, token: str) -> bool:
    """/services/oauth2/revoke: an access token is deleted (DOT also revokes the refresh token
    bound to it); a refresh token is revoked with its whole family. False when unknown."""
    checksum = token_checksum(token)
    access = AccessToken.objects.filter(token_checksum=checksum).first()
    if access is not None:
        revoke_access_token(access)
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
