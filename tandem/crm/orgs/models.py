"""CRM orgs: My Domain, session and OAuth settings, Network Access."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tandem.core import ids
from tandem.crm.orgs.iprange import MAX_RANGE_ADDRESSES, range_errors

my_domain_validator = RegexValidator(
    r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$",
    "Use 2 to 40 lowercase letters, digits and hyphens, starting with a letter "
    "and not ending with a hyphen.",
)


class Org(models.Model):
    """A CRM org: one customer's users, settings and records."""

    id = models.CharField(primary_key=True, max_length=18, default=ids.new_org_id, editable=False)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField("Active", default=True)
    my_domain = models.CharField(
        "My Domain",
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        validators=[my_domain_validator],
        help_text="The org's company-specific login host: <my_domain>.my.<CRM host>.",
    )
    allow_username_password_flows = models.BooleanField(
        "Allow OAuth Username-Password Flows", default=False
    )
    enforce_ip_ranges_every_request = models.BooleanField(
        "Enforce login IP ranges on every request", default=False
    )
    session_timeout_minutes = models.PositiveIntegerField("Timeout value (minutes)", default=120)
    api_daily_limit = models.PositiveIntegerField("Daily API request limit", default=15000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class TrustedIpRange(models.Model):
    """A Network Access range: logins from it need no security token (it never blocks)."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="trusted_ip_ranges")
    start_address = models.GenericIPAddressField("Start IP Address", protocol="IPv4")
    end_address = models.GenericIPAddressField("End IP Address", protocol="IPv4")
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("start_address", "id")

    def __str__(self) -> str:
        return f"{self.start_address}-{self.end_address}"

    def clean(self) -> None:
        errors = range_errors(
            str(self.start_address or ""),
            str(self.end_address or ""),
            max_addresses=MAX_RANGE_ADDRESSES,
        )
        if errors:
            raise ValidationError(errors)
