"""CRM orgs: My Domain, session and OAuth settings, Network Access."""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tandem.core import ids
from tandem.crm.orgs.iprange import MAX_RANGE_ADDRESSES, any_range_errors, parse_ip, range_errors

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


class IpRange(models.Model):
    """An inclusive address range with a description: the one shape of Network Access ranges,
    a profile's login IP ranges and a connected app's trusted ranges. A subclass says which
    addresses it takes (`ipv6_allowed`) and how wide it may be (`max_addresses`)."""

    start_address = models.GenericIPAddressField("Start IP Address", protocol="IPv4")
    end_address = models.GenericIPAddressField("End IP Address", protocol="IPv4")
    description = models.CharField(max_length=255, blank=True)

    ipv6_allowed: ClassVar[bool] = False
    max_addresses: ClassVar[int | None] = None

    class Meta:
        abstract = True
        ordering = ("start_address", "id")

    def __str__(self) -> str:
        return f"{self.start_address}-{self.end_address}"

    def normalize(self) -> None:
        """Ends in canonical form (so a list and a removal see one spelling), text trimmed."""
        for field in ("start_address", "end_address"):
            raw = str(getattr(self, field) or "").strip()
            parsed = parse_ip(raw)
            setattr(self, field, str(parsed) if parsed is not None else raw)
        self.description = (self.description or "").strip()

    def range_errors(self) -> dict[str, str]:
        """Field errors of the range as it stands; empty when it may be saved."""
        start, end = str(self.start_address or ""), str(self.end_address or "")
        if self.ipv6_allowed:
            errors = any_range_errors(start, end)
        else:
            errors = range_errors(start, end, max_addresses=self.max_addresses)
        if len(self.description or "") > 255:
            errors["description"] = "Use at most 255 characters."
        return errors

    def snapshot(self) -> dict[str, str]:
        """What the Setup Audit Trail records of the range."""
        return {
            "start": str(self.start_address),
            "end": str(self.end_address),
            "description": self.description,
        }

    def clean(self) -> None:
        errors = self.range_errors()
        if errors:
            raise ValidationError(errors)


class TrustedIpRange(IpRange):
    """A Network Access range: logins from it need no security token (it never blocks)."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="trusted_ip_ranges")

    max_addresses = MAX_RANGE_ADDRESSES

    class Meta(IpRange.Meta):
        abstract = False
