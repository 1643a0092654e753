"""Token writes: revoke everything one user holds for one app."""

from __future__ import annotations

from django.db import transaction

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.users.models import User


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
