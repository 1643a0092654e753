"""The CRM worker's task: run one Bulk API job (queue "crm")."""

from __future__ import annotations

from celery import shared_task

from tandem.crm.bulk.processing import Outcome, job_run, lease


@shared_task(name="tandem.crm.bulk.run", ignore_result=True)
def bulk_job_task(job_id: str) -> None:
    """Run or resume the job; if another run holds it, look again once its lease ends (the
    holder may have died)."""
    if job_run(job_id) is Outcome.BUSY:
        bulk_job_task.apply_async((job_id,), countdown=lease().total_seconds())
