"""The Celery application of both services' workers (queue "engagement" or "crm")."""

import os

from celery import Celery

from tandem.core.worker_logging import quiet_periodic_tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tandem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
quiet_periodic_tasks()
