"""Keep a worker's log readable: the frequent periodic checks are not logged at INFO.

Celery logs every task it receives and every task that succeeds at INFO. The checks below run
every few seconds to a minute (results written back within seconds of a send's end, held sends
resumed, synchronized sources that are due), so those two lines each would bury everything
else. Their warnings and errors are logged as ever, and so is anything the work itself logs.
"""

from __future__ import annotations

import logging

QUIET_TASKS = frozenset(
    {
        "engagement.connect.results_write_check",  # every 5 s
        "engagement.connect.held_resume_check",  # every minute
        "engagement.syncs.due_check",  # every minute
    }
)
# The loggers of Celery's "received" (the worker's strategy) and "succeeded" (the tracer) lines;
# both pass the task's name in the record's `data`.
CELERY_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


class QuietPeriodicTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        return not (
            record.levelno <= logging.INFO
            and isinstance(data, dict)
            and data.get("name") in QUIET_TASKS
        )


def quiet_periodic_tasks() -> None:
    """Install the filter once on Celery's task loggers."""
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietPeriodicTasks) for f in logger.filters):
            logger.addFilter(QuietPeriodicTasks())
