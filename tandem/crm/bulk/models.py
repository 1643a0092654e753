"""Bulk API 2.0 jobs: ingest and query jobs, their uploaded CSV, their per-row results and
their query result pages. Progress lives on the job row, so a worker that stops mid-job leaves
a job another run resumes where the last committed chunk ended."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tandem.core.ids import new_id


def new_bulk_job_id() -> str:
    return new_id("750")


class JobType(models.TextChoices):
    INGEST = "V2Ingest"
    QUERY = "V2Query"


class JobState(models.TextChoices):
    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"


FINISHED_STATES = (JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED)


class BulkJob(models.Model):
    """One ingest or query job of one org, with its options and progress."""

    id = models.CharField(primary_key=True, max_length=18, default=new_bulk_job_id, editable=False)
    org = models.ForeignKey("crm_orgs.Org", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    connected_app_name = models.CharField(max_length=255, blank=True, default="")
    job_type = models.CharField(max_length=8, choices=JobType.choices)
    operation = models.CharField(max_length=12)
    object = models.CharField(max_length=80)
    external_id_field_name = models.CharField(max_length=80, blank=True, default="")
    column_delimiter = models.CharField(max_length=10, default="COMMA")
    line_ending = models.CharField(max_length=4, default="LF")
    api_version = models.CharField(max_length=8)
    soql = models.TextField(blank=True, default="")
    # A query job's CSV header line (without its line ending), fixed when the job starts.
    csv_header = models.TextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.OPEN)
    error_message = models.TextField(blank=True, default="")
    created_date = models.DateTimeField(default=timezone.now)
    system_modstamp = models.DateTimeField(default=timezone.now)
    # Progress: rows (ingest) or records (query) done, in committed chunks.
    records_total = models.PositiveIntegerField(default=0)
    records_processed = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    query_cursor_pk = models.CharField(max_length=18, blank=True, default="")
    retries = models.PositiveIntegerField(default=0)
    processing_ms = models.PositiveBigIntegerField(default=0)
    # The run that holds the job, until `claimed_until`; another run may take it after that.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "job_type", "created_date"]),
            models.Index(fields=["state"]),
        ]

    def __str__(self) -> str:
        return self.id


class BulkUpload(models.Model):
    """The CSV uploaded to an ingest job (one upload per job, as Salesforce allows)."""

    job = models.OneToOneField(BulkJob, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()
    size = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.job_id} ({self.size} bytes)"


class BulkRowResult(models.Model):
    """The outcome of one row of an ingest job (row 0 is the first row after the header)."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="+")
    row = models.PositiveIntegerField()
    success = models.BooleanField()
    record_id = models.CharField(max_length=18, blank=True, default="")
    created = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="bulk_row_result")]

    def __str__(self) -> str:
        return f"{self.job_id} row {self.row}"


class BulkQueryChunk(models.Model):
    """Consecutive result rows of a query job: each already a CSV line without its ending
    (`lines`), or, from PostgreSQL's fast path, the rows as one CSV text, each line ended by
    `\n` (`text`)."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="+")
    first_row = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    lines = models.JSONField(default=list)
    text = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "first_row"], name="bulk_query_chunk")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} rows {self.first_row}+{self.row_count}"
