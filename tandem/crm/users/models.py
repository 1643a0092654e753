"""CRM users, profiles (login IP ranges and login hours), sessions and Login History."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from tandem.core import ids
from tandem.crm.orgs.models import IpRange, Org

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_DAY = 24 * 60


class ProfileName:
    """The standard profiles every new org gets."""

    SYSTEM_ADMINISTRATOR = "System Administrator"
    STANDARD_USER = "Standard User"
    MARKETING_USER = "Marketing User"
    ALL = (SYSTEM_ADMINISTRATOR, STANDARD_USER, MARKETING_USER)


class Profile(models.Model):
    """A user's profile: what they may do and where and when they may log in."""

    id = models.CharField(
        primary_key=True, max_length=18, default=ids.new_profile_id, editable=False
    )
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="profiles")
    name = models.CharField(max_length=80)
    modify_all_data = models.BooleanField(
        "Modify All Data", default=False, help_text="Administrators: may open Setup."
    )
    bulk_api_hard_delete = models.BooleanField(
        "Bulk API Hard Delete",
        default=False,
        help_text="May create Bulk API hardDelete jobs (records skip the recycle bin).",
    )

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(fields=("org", "name"), name="crm_profile_name_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.name


class ProfileLoginIpRange(IpRange):
    """An address range the profile's users may log in from; with none, any address may."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="login_ip_ranges")

    class Meta(IpRange.Meta):
        abstract = False


class ProfileLoginHours(models.Model):
    """One weekday's login window, in minutes after midnight UTC (whole hours)."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="login_hours")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(WEEKDAYS)))
    start_minutes = models.PositiveSmallIntegerField()
    end_minutes = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ("weekday",)
        constraints = [
            models.UniqueConstraint(
                fields=("profile", "weekday"), name="crm_login_hours_one_row_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(start_minutes__lte=models.F("end_minutes")),
                name="crm_login_hours_start_not_after_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start_minutes}-{self.end_minutes}"

    def clean(self) -> None:
        errors = login_hours_errors(self.start_minutes, self.end_minutes)
        if errors:
            raise ValidationError(errors)


def login_hours_errors(start: int | None, end: int | None) -> dict[str, str]:
    """Field errors for a login window: whole hours within the day, start not after end."""
    errors: dict[str, str] = {}
    for field, value in (("start_minutes", start), ("end_minutes", end)):
        if value is None or value < 0 or value > MINUTES_PER_DAY or value % 60:
            errors[field] = "Use a whole hour from 0 to 1440 minutes (00:00 to 24:00)."
    if not errors and start is not None and end is not None and start > end:
        errors["end_minutes"] = "The end must not come before the start."
    return errors


class UserManager(BaseUserManager["User"]):
    """Create users with a hashed password (or none usable)."""

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=username.strip().lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person (or integration) who logs in to one CRM org."""

    id = models.CharField(primary_key=True, max_length=18, default=ids.new_user_id, editable=False)
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="users")
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="users")
    username = models.CharField(
        max_length=80, unique=True, help_text="Email-shaped and unique across every org."
    )
    email = models.EmailField()
    first_name = models.CharField(max_length=40, blank=True)
    last_name = models.CharField(max_length=80)
    is_active = models.BooleanField("Active", default=True)
    is_frozen = models.BooleanField("Frozen", default=False)
    is_api_enabled = models.BooleanField("API Enabled", default=True)
    is_marketing_user = models.BooleanField("Marketing User", default=False)
    security_token_hash = models.CharField(max_length=128, blank=True, editable=False)
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email", "last_name"]

    objects = UserManager()

    class Meta:
        ordering = ("last_name", "first_name", "username")

    def __str__(self) -> str:
        return self.username

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def may_log_in(self) -> bool:
        """Active, not frozen, in an active org: what every session and token of the user
        needs, at login and on every later use."""
        return self.is_active and not self.is_frozen and self.org.is_active

    @property
    def is_org_admin(self) -> bool:
        """Administrators (a profile with Modify All Data) may open Setup."""
        return self.is_active and not self.is_frozen and self.profile.modify_all_data

    def is_locked(self, now: Any = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())


class LoginStatus:
    """Login History statuses (Salesforce's wording)."""

    SUCCESS = "Success"
    INVALID_PASSWORD = "Invalid Password"  # noqa: S105
    LOCKED_OUT = "Password Lockout"
    RATE_EXCEEDED = "Login rate exceeded"
    INACTIVE = "Failed: User inactive"
    FROZEN = "Failed: User frozen"
    ORG_INACTIVE = "Failed: Organization inactive"
    NOT_APPROVED = "Failed: Not approved for access"
    TOKEN_REQUIRED = "Failed: API security token required"  # noqa: S105
    LOGIN_HOURS = "Failed: Login hours restricted"
    IP_RESTRICTED = "Failed: IP restricted"
    API_DISABLED = "Failed: API disabled for user"
    PASSWORD_FLOW_DISABLED = "Username-Password Flow Disabled"  # noqa: S105


class LoginType:
    APPLICATION = "Application"
    REMOTE_ACCESS = "Remote Access 2.0"
    API = "Other Apex API"


class LoginHistory(models.Model):
    """One login attempt, successful or not."""

    id = models.CharField(
        primary_key=True, max_length=18, default=ids.new_login_history_id, editable=False
    )
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="login_history")
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="login_history"
    )
    username = models.CharField(max_length=80)
    login_time = models.DateTimeField(default=timezone.now, db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    login_type = models.CharField(max_length=40)
    application = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=120)

    class Meta:
        ordering = ("-login_time", "-id")
        verbose_name_plural = "login history"

    def __str__(self) -> str:
        return f"{self.username} {self.status}"


class UserSession(models.Model):
    """A browser session of a user, listed and ended from Setup (the key is kept hashed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    login_type = models.CharField(max_length=40, default=LoginType.APPLICATION)

    class Meta:
        ordering = ("-last_seen_at", "-id")

    def __str__(self) -> str:
        return f"{self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"
