"""Services queue Celery tasks by name from the app's registry, so every such task must be
registered in any process of its service, a web process included (not only in a worker, where
Celery's autodiscovery imports the tasks modules). Checked in a fresh interpreter per service:
this test process has imported the tasks modules already."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tandem.core.paths import PROJECT_ROOT

NAMES = {
    "crm": ["tandem.crm.bulk.services:RUN_TASK"],
    "engagement": [
        "tandem.engagement.data.imports:RUN_TASK",
        "tandem.engagement.connect.availability:MATERIALIZE_TASK",
        "tandem.engagement.connect.services.migration:MIGRATE_TASK",
        "tandem.engagement.connect.resume:RESUME_TASK",
        "tandem.engagement.sends.queue:BEGIN_TASK",
        "tandem.engagement.sends.queue:DELIVER_TASK",
        "tandem.engagement.sends.queue:RECOVER_TASK",
    ],
}
SCRIPT = """
import importlib, json, sys
import django
django.setup()
from celery import current_app
missing = []
for ref in sys.argv[1:]:
    module, constant = ref.split(":")
    name = getattr(importlib.import_module(module), constant)
    if name not in current_app.tasks:
        missing.append(name)
print(json.dumps(missing))
"""


@pytest.mark.parametrize("service", sorted(NAMES))
def test_tasks_queued_by_name_are_registered_outside_the_worker(service: str, tmp_path) -> None:
    env = {
        **os.environ,
        "TANDEM_SERVICE": service,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TANDEM_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *NAMES[service]],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
