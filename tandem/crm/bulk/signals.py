"""A CRM worker that starts resumes the Bulk API jobs left unfinished (closed but not run, or
stopped mid-run by a worker that died)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready
from django.conf import settings

log = logging.getLogger(__name__)


@worker_ready.connect
def resume_unfinished_jobs(**kwargs: Any) -> None:
    if settings.SERVICE != "crm":
        return
    from tandem.crm.bulk.models import BulkJob, JobState
    from tandem.crm.bulk.tasks import bulk_job_task

    pending = (JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS)
    for job_id in BulkJob.objects.filter(state__in=pending).values_list("pk", flat=True):
        log.info("resuming bulk job %s", job_id)
        bulk_job_task.delay(job_id)
