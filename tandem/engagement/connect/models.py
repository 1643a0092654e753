"""Marketing Cloud Connect: the account's CRM connection, user mappings, usage, outages, runs."""

from __future__ import annotations

from django.db import models

from tandem.engagement.accounts.models import Account, User

AUTO_CONNECT_DAYS = 14


class ConnectionState(models.TextChoices):
    LEGACY = "legacy", "Legacy"
    UPGRADING = "upgrading", "Upgrading"
    CONNECTED_APP = "connected_app", "Connected App"


class CrmConnection(models.Model):
    """The account-level connection to one CRM org, through its system user."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="crm_connection")
    state = models.CharField(
        max_length=20, choices=ConnectionState.choices, default=ConnectionState.LEGACY
    )
    login_url = models.CharField(max_length=255, help_text="The CRM's generic login URL.")
    instance_url = models.CharField(max_length=255, help_text="My Domain URL, else the login URL.")
    my_domain = models.CharField(max_length=80, blank=True)
    org_id = models.CharField(max_length=40)
    system_username = models.CharField(max_length=255)
    system_user_id = models.CharField(max_length=40)
    # Legacy only: password + security token, Fernet-encrypted; erased after the window.
    legacy_secret = models.TextField(blank=True)
    # Send CRM-audience sends to Held (resumed later) instead of failing them during an outage.
    hold_crm_sends = models.BooleanField(default=False)
    # The web-server flow in progress: state and PKCE verifier (encrypted), and who started it.
    pending_oauth_state = models.CharField(max_length=64, blank=True)
    pending_verifier = models.TextField(blank=True)
    # The identity the CRM returned, when it differs from the recorded system user.
    pending_identity = models.JSONField(null=True, blank=True)
    verified_identity = models.JSONField(null=True, blank=True)
    upgrade_started_at = models.DateTimeField(null=True, blank=True)
    upgraded_at = models.DateTimeField(null=True, blank=True)
    window_ends_at = models.DateTimeField(null=True, blank=True)
    upgraded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Migrate Existing Users in progress (one run at a time; a rollback waits for it).
    migration_claimed_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # The CRM's daily allocation as its Sforce-Limit-Info header last reported it.
    crm_api_used = models.PositiveIntegerField(null=True, blank=True)
    crm_api_max = models.PositiveIntegerField(null=True, blank=True)
    crm_api_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.account} → {self.org_id} ({self.state})"

    @property
    def token_url(self) -> str:
        """My Domain login when the org has one (docs/reference/connect.md)."""
        return self.instance_url or self.login_url


class UserConnectionState(models.TextChoices):
    LEGACY = "legacy", "Connected (legacy)"
    CONNECTED = "connected", "Connected (Connected App)"
    PENDING = "pending", "Awaiting auto-connection"
    DISCONNECTED = "disconnected", "Not connected"


class ConnectedUser(models.Model):
    """Integrate for Salesforce.com Status: an Engagement user mapped to a CRM username."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connected_users")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="crm_mapping")
    crm_username = models.CharField(max_length=255)
    crm_user_id = models.CharField(max_length=40, blank=True)
    state = models.CharField(
        max_length=20, choices=UserConnectionState.choices, default=UserConnectionState.LEGACY
    )
    legacy_secret = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=80, blank=True)
    last_error_message = models.CharField(max_length=255, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Connected under legacy authentication: a candidate for Migrate Existing Users.
    was_legacy = models.BooleanField(default=False)

    class Meta:
        ordering = ("crm_username",)

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.crm_username}"


class ApiFamily(models.TextChoices):
    REST = "rest", "REST"
    SOAP = "soap", "SOAP"
    BULK = "bulk", "Bulk"


class ApiCallDay(models.Model):
    """Connect's calls to the CRM, counted per day, CRM user, API family, and whether they
    count against the CRM's daily limit (Bulk calls always do; REST calls only under legacy
    authentication, and IndividualEmailResult writes, which the CRM meters as bulk-style)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    crm_username = models.CharField(max_length=255)
    api_family = models.CharField(max_length=8, choices=ApiFamily.choices, default=ApiFamily.REST)
    counts_against_limit = models.BooleanField(default=False)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-day", "crm_username")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "crm_username", "api_family", "counts_against_limit"],
                name="connect_api_call_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.crm_username}: {self.calls}"


class Outage(models.Model):
    """A scheduled Connect outage: CRM-audience sends and syncs pause for its length."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connect_outages")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("starts_at",)

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"


class MigrationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class MigrationRun(models.Model):
    """One Migrate Existing Users run: its counts, rows and the files it wrote.

    Created when the admin asks, run by the worker, its rows (MigrationOutcome, one per user)
    committed batch by batch; a run whose worker died is resumed (the same run, the users not
    done yet) once its lease lapses.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=10, choices=MigrationState.choices, default=MigrationState.DONE
    )
    total = models.PositiveIntegerField(default=0)  # users the run has tried or will try
    # The run's hold on the account (the connection's migration_claimed_at, same value).
    claim = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list)

    class Meta:
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"migration {self.pk}: {self.succeeded} ok, {self.failed} failed"

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed

    @property
    def done(self) -> bool:
        return self.state == MigrationState.DONE

    @property
    def rows(self) -> list[dict[str, str]]:
        """Each user's outcome in the order recorded, as the CSV files and `--json` show it."""
        return list(self.outcomes.order_by("pk").values(*OUTCOME_FIELDS))


OUTCOME_FIELDS = (
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
)


class MigrationOutcome(models.Model):
    """One user's outcome in a run: a batch inserts its own users' rows, so recording stays
    linear in the run's size (the run never rewrites what earlier batches recorded)."""

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="outcomes")
    engagement_username = models.CharField(max_length=150)
    crm_username = models.CharField(max_length=255)
    crm_user_id = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10)  # "success" or "failure"
    # As the CRM gave them, untruncated (the mapping keeps a truncated copy).
    error_code = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    attempted_at = models.CharField(max_length=32)  # ISO 8601 UTC, as the files show it

    class Meta:
        ordering = ("pk",)
        constraints = [  # a resumed run never records a user twice
            models.UniqueConstraint(
                fields=["run", "engagement_username"], name="connect_migration_outcome_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.engagement_username}: {self.status}"


class AudienceState(models.TextChoices):
    PENDING = "pending", "Waiting for Connect"
    READING = "reading", "Reading from the CRM"
    READY = "ready", "Materialized"
    FAILED = "failed", "Failed"


class CrmAudience(models.Model):
    """A CRM audience of one send, read through Connect into a sendable data extension."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    send = models.OneToOneField(
        "engagement_sends.Send", on_delete=models.CASCADE, related_name="crm_audience"
    )
    state = models.CharField(
        max_length=10, choices=AudienceState.choices, default=AudienceState.PENDING
    )
    data_extension = models.ForeignKey(
        "engagement_data.DataExtension",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rows = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    # Data extensions created by CRM-audience sends keep their rows 5 days
    # (docs/reference/connect.md).
    expires_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    results_written_at = models.DateTimeField(null=True, blank=True)
    # One writer of the results at a time (the post-send poller or the periodic catch-up).
    results_claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"CRM audience of send {self.send_id} ({self.state})"


class EmailResultLink(models.Model):
    """The IndividualEmailResult written for one recipient, and the tracking it last carried."""

    audience = models.ForeignKey(CrmAudience, on_delete=models.CASCADE, related_name="results")
    record = models.OneToOneField(
        "engagement_sends.SendRecord", on_delete=models.CASCADE, related_name="crm_result"
    )
    tracking_key = models.CharField(max_length=80, unique=True)
    crm_id = models.CharField(max_length=18)
    # The tracking fields as last written to the CRM; the periodic task writes differences.
    written = models.JSONField(default=dict)
    written_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.tracking_key


class PeriodicChain(models.Model):
    """The one live chain of a self-rescheduling task: each worker start begins a new chain
    and retires the previous ones, whose next runs then stop (no beat process needed)."""

    name = models.CharField(max_length=80, primary_key=True)
    token = models.CharField(max_length=32)
    started_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
