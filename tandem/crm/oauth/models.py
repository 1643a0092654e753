"""Tokens, codes and ID tokens (DOT's models, swapped in migration 0001); only hashes at rest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)

from tandem.crm.oauth.crypto import code_hash


class HashedCodeField(models.CharField):
    """Stores, and looks up by, the SHA-256 of the value: `Grant.objects.filter(code=raw)` works
    unchanged in DOT while the raw code never reaches the database."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return code_hash(value) if isinstance(value, str) and value else value


def _user(related_name: str, *, optional: bool) -> Any:
    """DOT's user foreign key with a plain related name (the stubs cannot read DOT's pattern)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=optional,
        blank=optional,
        related_name=related_name,
    )


class AccessToken(AbstractAccessToken):
    """An access token; `token` stays blank (RFC 9700 storage), `token_checksum` is its SHA-256."""

    user = _user("+", optional=True)
    # Set on the access tokens a refresh token issued without rotating (the app's "Enable
    # Refresh Token Rotation" off): revoking the refresh token's family revokes them too.
    refresh_token_family = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    # The grant that issued it ("" when unknown): a Marketing Cloud app's calls are exempt from
    # the daily API limit under connected-app authentication, not by the password flow.
    grant_type = models.CharField(max_length=64, blank=True, default="", editable=False)


class RefreshToken(AbstractRefreshToken):
    """A refresh token; rotation keeps `token_family` and the family's start. `updated` is its
    last use (a refresh without rotation touches it)."""

    user = _user("+", optional=False)
    family_created_at = models.DateTimeField(default=timezone.now)

    @classmethod
    def revoke_family(cls, token_family: Any) -> None:
        """DOT's revocation of the family, plus the access tokens issued from it without
        rotation (Salesforce: a revoked refresh token revokes every access token it issued)."""
        super().revoke_family(token_family)
        if token_family:
            AccessToken.objects.filter(refresh_token_family=token_family).delete()


class Grant(AbstractGrant):
    """An authorization code (15 minutes, single use), kept as its hash."""

    user = _user("+", optional=False)
    code = HashedCodeField(max_length=64, unique=True)
    # Kept after use, so that a second use is recognised and revokes what the first issued
    # (RFC 6749 §4.1.2, RFC 9700 §4.1.2): when, and the tokens of the first exchange.
    used_at = models.DateTimeField(null=True, blank=True)
    issued_access_token = models.ForeignKey(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_token_family = models.UUIDField(null=True, blank=True)


class IDToken(AbstractIDToken):
    """An OpenID Connect ID token's record (the JWT itself is never stored)."""

    user = _user("+", optional=True)


class JwtAssertionUse(models.Model):
    """A JWT bearer assertion's replay key (its `jti`, else the assertion itself) as SHA-256,
    kept until the assertion expires, to refuse replays across every web process (a
    per-process cache would not)."""

    app_id = models.CharField(max_length=18)
    jti_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("app_id", "jti_hash"), name="crm_oauth_jti_once")
        ]

    def __str__(self) -> str:
        return self.jti_hash
