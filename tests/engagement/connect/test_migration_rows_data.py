"""The data migration that moved each run's rows out of one JSON value into a row per user:
the rows keep their order and values both ways, and the surfaces read them as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

APP = "engagement_connect"
BEFORE, AFTER = (APP, "0006_migration_run_progress"), (APP, "0007_migration_outcomes")
ROWS = [
    {
        "engagement_username": "maria",
        "crm_username": "maria@acme.test",
        "crm_user_id": "005000000000001AAA",
        "status": "success",
        "error_code": "",
        "error_message": "",
        "attempted_at": "2026-12-01T10:00:00Z",
    },
    {
        "engagement_username": "olga",
        "crm_username": "olga@acme.test",
        "crm_user_id": "",
        "status": "failure",
        "error_code": "invalid_grant",
        "error_message": "user hasn't approved this consumer",
        "attempted_at": "2026-12-01T10:00:01Z",
    },
]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture
def before() -> Iterator[Any]:
    """The schema as it was before the outcome rows; the latest again afterwards."""
    apps = migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def run_create(apps: Any, rows: list[dict[str, str]]) -> int:
    accounts = apps.get_model("engagement_accounts", "Account").objects
    account = accounts.create(name=f"Data migration {accounts.count()}")
    run = apps.get_model(APP, "MigrationRun").objects.create(
        account=account, rows=rows, succeeded=1, failed=1
    )
    return int(run.pk)


def test_each_runs_rows_become_one_outcome_per_user_in_order(before: Any) -> None:
    run_id = run_create(before, [*ROWS, ROWS[0]])  # a user named twice keeps its first row
    empty_id = run_create(before, [])

    after = migrate(AFTER)

    from tandem.engagement.connect.models import MigrationRun

    assert MigrationRun.objects.get(pk=run_id).rows == ROWS
    assert MigrationRun.objects.get(pk=empty_id).rows == []
    assert after.get_model(APP, "MigrationOutcome").objects.count() == 2


def test_going_back_puts_the_rows_in_their_run_again(before: Any) -> None:
    run_id = run_create(before, ROWS)
    migrate(AFTER)

    apps = migrate(BEFORE)

    assert apps.get_model(APP, "MigrationRun").objects.get(pk=run_id).rows == ROWS
