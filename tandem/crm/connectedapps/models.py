"""Connected Apps (DOT's application, swapped in migration 0001), their per-org policies,
pre-authorization links, durable approvals and OAuth usage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.models import AbstractApplication, ClientSecretField

from tandem.core import ids
from tandem.crm.oauth.policy import (
    IP_RELAXATION_LABELS,
    PERMITTED_USERS_LABELS,
    REFRESH_POLICY_LABELS,
    AppPolicy,
    IpRelaxation,
    PermittedUsers,
    RefreshTokenPolicy,
    ValidityUnit,
)
from tandem.crm.orgs.models import IpRange, Org
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.users.models import Profile

OAUTH_SCOPES = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "full": "Full access (full)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "profile": "Access the identity URL service (id, profile, email, address, phone)",
    "email": "Access the identity URL service (id, profile, email, address, phone)",
    "web": "Manage user data via Web browsers (web)",
    "openid": "Access unique user identifiers (openid)",
}


class ConnectedApp(AbstractApplication):
    """An OAuth client: consumer key and secret, callbacks, scopes, PKCE, certificate."""

    id = models.CharField(
        primary_key=True, max_length=18, default=ids.new_connected_app_id, editable=False
    )
    # None: provided by the deployment (Salesforce Marketing Cloud), listed in an org once used.
    org = models.ForeignKey(Org, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user = models.ForeignKey(  # DOT's owner field, unused: apps belong to an org
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deployment_key = models.CharField(max_length=40, unique=True, null=True, blank=True)
    contact_email = models.EmailField("Contact Email", blank=True)
    description = models.CharField("Description", max_length=255, blank=True)
    client_secret = ClientSecretField(max_length=255, blank=True, default="", db_index=True)
    hash_client_secret = models.BooleanField(default=False)
    consumer_secret_encrypted = models.TextField(blank=True, editable=False)
    oauth_scopes = models.CharField("Selected OAuth Scopes", max_length=255, default="api")
    pkce_required = models.BooleanField(
        "Require Proof Key for Code Exchange (PKCE) Extension for Supported Authorization Flows",
        default=True,
    )
    certificate = models.TextField("Digital Certificate", blank=True)
    # Salesforce's isRefreshTokenRotationEnabled: off, a refresh keeps the refresh token valid.
    refresh_token_rotation_enabled = models.BooleanField(
        "Enable Refresh Token Rotation", default=False
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractApplication.Meta):
        ordering = ("name", "id")

    @property
    def scope_list(self) -> list[str]:
        return self.oauth_scopes.split()

    @property
    def callback_urls(self) -> list[str]:
        return self.redirect_uris.split()

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact string match against one of the callback URLs (RFC 9700 §2.1)."""
        return isinstance(uri, str) and uri in self.callback_urls

    def allows_grant_type(self, *grant_types: str) -> bool:
        """Web-server, refresh and password flows for every app; client credentials only when
        the app was created for it (the benchmark's plain-DOT baseline)."""
        if self.authorization_grant_type == self.GRANT_CLIENT_CREDENTIALS:
            return self.GRANT_CLIENT_CREDENTIALS in grant_types
        return bool({self.GRANT_AUTHORIZATION_CODE, self.GRANT_PASSWORD} & set(grant_types))


class ConnectedAppPolicy(models.Model):
    """One org's OAuth policies for one connected app (the app's row in that org's list)."""

    app = models.ForeignKey(ConnectedApp, on_delete=models.CASCADE, related_name="policies")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="connected_app_policies")
    permitted_users = models.CharField(
        "Permitted Users",
        max_length=40,
        choices=list(PERMITTED_USERS_LABELS.items()),
        default=PermittedUsers.ALL_SELF_AUTHORIZED,
    )
    ip_relaxation = models.CharField(
        "IP Relaxation",
        max_length=40,
        choices=list(IP_RELAXATION_LABELS.items()),
        default=IpRelaxation.ENFORCE,
    )
    refresh_token_policy = models.CharField(
        "Refresh Token Policy",
        max_length=40,
        choices=list(REFRESH_POLICY_LABELS.items()),
        default=RefreshTokenPolicy.INFINITE,
    )
    refresh_token_validity = models.PositiveSmallIntegerField(default=0)
    refresh_token_unit = models.CharField(
        max_length=10,
        choices=[(unit.value, unit.value.lower()) for unit in ValidityUnit],
        default=ValidityUnit.DAYS,
    )
    session_timeout_minutes = models.PositiveIntegerField("Timeout Value", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("app__name", "id")
        constraints = [
            models.UniqueConstraint(fields=("app", "org"), name="crm_connected_app_policy_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.app} in {self.org_id}"

    def as_policy(self) -> AppPolicy:
        """The evaluator's view of this row."""
        return AppPolicy(
            permitted_users=PermittedUsers(self.permitted_users),
            ip_relaxation=IpRelaxation(self.ip_relaxation),
            refresh_token_policy=RefreshTokenPolicy(self.refresh_token_policy),
            refresh_token_validity=self.refresh_token_validity,
            refresh_token_unit=ValidityUnit(self.refresh_token_unit),
        )


class ConnectedAppIpRange(IpRange):
    """A Trusted IP Range for OAuth Web Server Flow of one app in one org (metadata
    `ConnectedApp.ipRanges`): under *Relax IP restrictions for activated devices*, only these
    addresses may use the web-server flow, and the profile's ranges are not consulted."""

    app = models.ForeignKey(ConnectedApp, on_delete=models.CASCADE, related_name="ip_ranges")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    # Either IP version here (the org's and the profiles' ranges are IPv4 only).
    start_address = models.GenericIPAddressField("Start IP Address")
    end_address = models.GenericIPAddressField("End IP Address")
    description = models.CharField("Description", max_length=255, blank=True)

    ipv6_allowed = True

    class Meta(IpRange.Meta):
        abstract = False
        indexes = [models.Index(fields=("app", "org"), name="crm_connected_app_iprange_app")]


class ConnectedAppAccess(models.Model):
    """A profile or permission set linked to the app in one org (like SetupEntityAccess)."""

    policy = models.ForeignKey(ConnectedAppPolicy, on_delete=models.CASCADE, related_name="access")
    permission_set = models.ForeignKey(
        PermissionSet, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(permission_set__isnull=False, profile__isnull=True)
                    | models.Q(permission_set__isnull=True, profile__isnull=False)
                ),
                name="crm_connected_app_access_one_target",
            ),
            models.UniqueConstraint(
                fields=("policy", "permission_set"), name="crm_connected_app_access_permset"
            ),
            models.UniqueConstraint(
                fields=("policy", "profile"), name="crm_connected_app_access_profile"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} ← {self.permission_set_id or self.profile_id}"


class ConnectedAppConsent(models.Model):
    """A user's durable approval of an app (Allow on the consent page)."""

    app = models.ForeignKey(ConnectedApp, on_delete=models.CASCADE, related_name="consents")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connected_app_consents"
    )
    scopes = models.CharField(max_length=255)
    granted_at = models.DateTimeField()

    class Meta:
        ordering = ("-granted_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("app", "user"), name="crm_connected_app_consent_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} approved {self.app_id}"


class ConnectedAppUsage(models.Model):
    """Who uses which app: first and last token, and how many tokens (OAuth Usage page)."""

    app = models.ForeignKey(ConnectedApp, on_delete=models.CASCADE, related_name="usage")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connected_app_usage"
    )
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")
    first_used_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-last_used_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("app", "user"), name="crm_connected_app_usage_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} x {self.app_id}"
