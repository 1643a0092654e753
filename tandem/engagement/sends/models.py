"""Sends, one record per recipient, the batches that claim them, and tracking events."""

from __future__ import annotations

from django.db import models

from tandem.core.audit import AuditEventBase
from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.studio.models import Email


class AudienceKind(models.TextChoices):
    DATA_EXTENSION = "data_extension", "Data extension"
    # Audiences that come from the CRM through Marketing Cloud Connect (docs/reference/connect.md).
    SALESFORCE_DATA_EXTENSION = "salesforce_data_extension", "Salesforce data extension"
    REPORT = "report", "Report"
    CAMPAIGN = "campaign", "Campaign"
    CONTACT = "contact", "Contact"
    LEAD = "lead", "Lead"
    # A synchronized data extension (a CRM object's copy) or a filtered one over it.
    SYNCHRONIZED_DATA_EXTENSION = "synchronized_data_extension", "Synchronized data extension"


CRM_AUDIENCE_KINDS = frozenset(
    {
        AudienceKind.SALESFORCE_DATA_EXTENSION,
        AudienceKind.REPORT,
        AudienceKind.CAMPAIGN,
        AudienceKind.CONTACT,
        AudienceKind.LEAD,
        AudienceKind.SYNCHRONIZED_DATA_EXTENSION,
    }
)


class SendStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    RUNNING = "running", "Sending"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


FINAL_SEND_STATUSES = frozenset({SendStatus.COMPLETED, SendStatus.CANCELLED, SendStatus.FAILED})


class Send(models.Model):
    """One email sent to one audience, now or at a scheduled time."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sends")
    name = models.CharField(max_length=200)
    email = models.ForeignKey(Email, on_delete=models.PROTECT, related_name="sends")
    audience_kind = models.CharField(
        max_length=40, choices=AudienceKind.choices, default=AudienceKind.DATA_EXTENSION
    )
    data_extension = models.ForeignKey(
        DataExtension, on_delete=models.PROTECT, related_name="sends", null=True, blank=True
    )
    # The CRM object (report, campaign, contact, lead, SFDE) when the audience comes from the CRM.
    audience_ref = models.CharField(max_length=255, blank=True)
    is_test = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=SendStatus.choices, default=SendStatus.DRAFT, db_index=True
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why the send failed, was held or was paused by the circuit breaker; shown in UI and CLI.
    failure_reason = models.TextField(blank=True)
    consecutive_failed_batches = models.PositiveIntegerField(default=0)
    audience_rows = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0)
    suppressed_skipped = models.PositiveIntegerField(default=0)
    # At most this many messages a second across all workers (empty: as fast as possible);
    # loops reserve their slots by moving `rate_next_at` on (claims.send_reserve_slots).
    max_per_second = models.PositiveIntegerField(null=True, blank=True)
    rate_next_at = models.DateTimeField(null=True, blank=True)
    # The highest record id a batch has taken by range (claims.batch_claim): a queued record at
    # or below it belongs to the open batch whose range holds it, unwritten until its outcome.
    claim_cursor = models.BigIntegerField(default=0)
    # Link URL templates of the HTML body, by index, for the click redirect.
    links = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.name

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_SEND_STATUSES


class RecordStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    # Deferred (4xx) or not tried before the batch's deadline: queued again, claimed one by one.
    RETRY = "retry", "Queued again"
    CLAIMED = "claimed", "Claimed"
    SENT = "sent", "Sent"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown"


# The condition of the `sendrecord_open` partial index, as SQL: SQLite's planner reads a partial
# index only for queries that repeat its condition (a bound status does not prove it).
OPEN_RECORDS_SQL = (
    f"status IN ('{RecordStatus.QUEUED}', '{RecordStatus.RETRY}', '{RecordStatus.CLAIMED}')"
)


class SendBatch(models.Model):
    """Records one delivery loop claimed together; open until its outcomes are written."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="batches")
    worker = models.CharField(max_length=200)
    claimed_at = models.DateTimeField()
    # Refreshed at every write of the loop; a stale open batch belonged to a lost worker.
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    is_lost = models.BooleanField(default=False)
    # The fresh records taken by range, first and last id (none for a batch of retries): they
    # stay `queued` in the records table until their outcome, one write per record, not two.
    first_record_id = models.BigIntegerField(null=True, blank=True)
    last_record_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["send", "finished_at"], name="sendbatch_open")]

    def __str__(self) -> str:
        return f"batch {self.pk} of send {self.send_id}"


class SendRecord(models.Model):
    """One recipient of one send: its snapshot values, delivery outcome and tracking."""

    # No index of its own: the unique (send, subscriber key) index starts with it. Every index
    # is written again at each outcome, so the table keeps few (bench/sends).
    # No database constraint on `send` and `batch` either: PostgreSQL checks a foreign key row
    # by row at commit, one lookup per record the snapshot inserts (0.33 s of server CPU for
    # 100,000) and per record a claim gives a batch (~4 ms a batch of 1,000). Records are only
    # written in the transaction that holds their send (snapshot, test sends) and their batch
    # (claim); deletes go through the ORM, which still cascades and sets null.
    send = models.ForeignKey(
        Send,
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    subscriber_key = models.CharField(max_length=255)
    email = models.CharField(max_length=254)
    values = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=RecordStatus.choices, default=RecordStatus.QUEUED
    )
    batch = models.ForeignKey(
        SendBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["send", "subscriber_key"], name="sendrecord_unique_subscriber"
            )
        ]
        indexes = [
            # Only unfinished records: claims read queued ones, recovery the claimed ones.
            models.Index(
                fields=["send", "status", "id"],
                name="sendrecord_open",
                condition=models.Q(status__in=["queued", "retry", "claimed"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_key} <{self.email}>"


class TrackingKind(models.TextChoices):
    OPEN = "open", "Open"
    CLICK = "click", "Click"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"


class TrackingEvent(models.Model):
    """An open, click or unsubscribe of one send record."""

    record = models.ForeignKey(SendRecord, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=TrackingKind.choices)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    url = models.TextField(blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} of record {self.record_id}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    HARD_BOUNCE = "hard_bounce", "Hard bounce"


class Suppression(models.Model):
    """A subscriber no send of the account reaches again (unsubscribed or hard-bounced)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="suppressions")
    subscriber_key = models.CharField(max_length=255)
    reason = models.CharField(max_length=40, default=SuppressionReason.UNSUBSCRIBED)
    # The server's reply that made it a hard bounce (none for an unsubscribe).
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    record = models.ForeignKey(SendRecord, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "subscriber_key"], name="suppression_unique_subscriber"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_key} ({self.reason})"


class SendEvent(AuditEventBase):
    """The audit trail of a send: who created, scheduled, paused, resumed or cancelled it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="send_events")
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="events")
