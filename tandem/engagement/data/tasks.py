"""Celery adapters of the data app."""

from __future__ import annotations

from celery import shared_task

from tandem.engagement.data.imports import RUN_TASK, ImportFileError, data_import_run


@shared_task(name=RUN_TASK)
def data_import_run_task(data_import_id: int) -> None:
    """Run one queued import; a file-level failure is recorded on the import itself."""
    try:
        data_import_run(data_import_id=data_import_id)
    except ImportFileError:
        return
