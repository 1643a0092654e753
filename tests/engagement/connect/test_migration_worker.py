"""Migrate Existing Users on the Engagement worker: the button queues a run and shows its
progress; a run whose worker died is resumed as the same run, and its files list every user;
a second click shows the run under way; another account sees nothing of it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import Account, Role, User
from tandem.engagement.connect.models import CrmConnection, MigrationRun
from tandem.engagement.connect.services import migration
from tandem.engagement.content.models import ContentFile
from tests.engagement.conftest import client_for, make_user
from tests.engagement.connect.conftest import FakeCrm, mappings
from tests.engagement.connect.test_migration_batches import USERS, crm_name, many

__all__ = ["many"]  # the fixture, shared with the batch tests

URL = "/email/admin/salesforce-integration/"
REAL_ENQUEUE = migration.migration_enqueue  # before the autouse fixture stands in for it


def progress(client: Client, run_id: int) -> dict[str, Any]:
    answer = client.get(f"{URL}migrate/{run_id}/progress/")
    assert answer.status_code == 200, answer.content[:500]
    return answer.json()  # type: ignore[no-any-return]


def file_users(name: str) -> list[str]:
    item = ContentFile.objects.get(name=name)
    with item.blob.open("rb") as blob:
        rows = list(csv.reader(io.StringIO(blob.read().decode("utf-8"))))
    return [row[1] for row in rows[1:]]


@pytest.fixture
def in_batches(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One user at a time, recorded 3 at a time: which users a batch holds is exact."""
    settings.CONNECT_MIGRATION_THREADS = 1
    monkeypatch.setattr(migration, "RECORD_BATCH", 3)
    monkeypatch.setattr(migration, "RECORD_SECONDS", 3600.0)


@pytest.mark.usefixtures("in_batches")
def test_the_progress_dialog_and_endpoint_count_the_users_done_then_show_the_results(
    many: CrmConnection, admin_client: Client, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[dict[str, Any], str]] = []
    real = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(7):  # two batches (6 users) recorded by now
            (run,) = MigrationRun.objects.all()
            page = admin_client.get(f"{URL}?run={run.pk}").content.decode()
            seen.append((progress(admin_client, run.pk), page))
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)

    answer = admin_client.post(URL + "migrate/")

    run = MigrationRun.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"{URL}?run={run.pk}"
    ((during, page),) = seen
    assert during == {
        "id": run.pk,
        "state": "running",
        "done": False,
        "processed": 6,
        "total": USERS,
        "succeeded": 6,
        "failed": 0,
        "files": [],
    }
    assert '<dialog id="migration-results"' in page
    assert 'aria-labelledby="migration-results-title"' in page
    assert "Migrating <strong" in page
    assert ">6</strong> of <strong" in page
    assert f'data-progress-url="{URL}migrate/{run.pk}/progress/"' in page
    assert "Migrate Existing Users: results" not in page

    after = progress(admin_client, run.pk)
    assert (after["state"], after["done"], after["processed"], after["total"]) == (
        "done",
        True,
        USERS,
        USERS,
    )
    page = admin_client.get(answer["Location"]).content.decode()
    assert "Migrate Existing Users: results" in page
    assert f"<strong>{USERS}</strong> users reconnected, <strong>0</strong> failed." in page
    assert ">OK<" in page
    assert "data-progress-url" not in page


class Killed(BaseException):
    """The worker killed -9 in the middle of a CRM call."""


def dies(connection: CrmConnection) -> None:
    """What a process killed -9 leaves, unlike the exception's unwinding: the account still
    held by the run's last claim, until its lease lapses."""
    (run,) = MigrationRun.objects.exclude(state="done")
    assert run.claim is not None
    CrmConnection.objects.filter(pk=connection.pk).update(migration_claimed_at=run.claim)


@pytest.mark.usefixtures("in_batches")
def test_a_run_killed_midway_is_resumed_and_its_files_list_every_user(
    many: CrmConnection,
    admin: User,
    admin_client: Client,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    migrations_by_the_worker_task: list[int],
) -> None:
    settings.CONNECT_MIGRATION_LEASE_SECONDS = 60
    real_jwt = crm.jwt_login
    killed: list[str] = []

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(7) and not killed:
            killed.append(kwargs["username"])
            raise Killed
        return real_jwt(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)
    died_at = timezone.now()
    with time_machine.travel(died_at, tick=False), pytest.raises(Killed):
        migration.migration_start(actor=admin, connection=many)
    dies(many)

    (run,) = MigrationRun.objects.all()
    assert [row["crm_username"] for row in run.rows] == [crm_name(i) for i in range(6)]
    assert (run.state, run.files) == ("running", [])
    # user 6 reconnected at the CRM, but the kill came before its batch was recorded
    assert [mappings(many.account)[crm_name(i)] for i in range(USERS)] == (
        ["connected"] * 6 + ["legacy"] * 4
    )

    with time_machine.travel(died_at + timedelta(seconds=59), tick=False):
        assert progress(admin_client, run.pk)["state"] == "running"
        again = admin_client.post(URL + "migrate/")  # the lease is live: the run is shown
    assert again["Location"] == f"{URL}?run={run.pk}"
    assert migrations_by_the_worker_task == [run.pk]
    with time_machine.travel(died_at + timedelta(seconds=60), tick=False):
        assert progress(admin_client, run.pk)["state"] == "interrupted"
        resumed = admin_client.post(URL + "migrate/")

    assert resumed["Location"] == f"{URL}?run={run.pk}"
    assert migrations_by_the_worker_task == [run.pk, run.pk]
    run.refresh_from_db()
    assert MigrationRun.objects.count() == 1
    assert (run.state, run.succeeded, run.failed, run.total) == ("done", USERS, 0, USERS)
    everyone = [crm_name(i) for i in range(USERS)]
    assert [row["crm_username"] for row in run.rows] == everyone  # each user once
    success, failures = run.files
    assert file_users(success) == everyone
    assert file_users(failures) == []
    assert set(mappings(many.account).values()) == {"connected"}
    many.refresh_from_db()
    assert many.migration_claimed_at is None


@pytest.mark.usefixtures("in_batches")
def test_the_periodic_retry_resumes_a_run_whose_worker_died(
    many: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    migrations_by_the_worker_task: list[int],
) -> None:
    settings.CONNECT_MIGRATION_LEASE_SECONDS = 60
    real_jwt = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(4):
            raise Killed
        return real_jwt(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)
    died_at = timezone.now()
    with time_machine.travel(died_at, tick=False), pytest.raises(Killed):
        migration.migration_start(actor=admin, connection=many)
    monkeypatch.setattr(crm, "jwt_login", real_jwt)
    dies(many)
    (run,) = MigrationRun.objects.all()
    with time_machine.travel(died_at + timedelta(seconds=59), tick=False):
        migration.auto_connect_sweep()  # the run still holds the account: left alone
    assert migrations_by_the_worker_task == [run.pk]
    assert mappings(many.account)[crm_name(5)] == "legacy"

    with time_machine.travel(died_at + timedelta(seconds=61), tick=False):
        migration.auto_connect_sweep()

    assert migrations_by_the_worker_task == [run.pk, run.pk]
    run.refresh_from_db()
    assert (run.state, run.succeeded) == ("done", USERS)
    assert [row["crm_username"] for row in run.rows] == [crm_name(i) for i in range(USERS)]
    assert file_users(run.files[0]) == [crm_name(i) for i in range(USERS)]


@pytest.mark.usefixtures("in_batches")
def test_a_rollback_ends_a_run_its_worker_left_with_files_of_the_users_it_recorded(
    many: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tandem.engagement.connect import services

    CrmConnection.objects.filter(pk=many.pk).update(legacy_secret="kept")
    real_jwt = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(4):
            raise Killed
        return real_jwt(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)
    with pytest.raises(Killed):
        migration.migration_start(actor=admin, connection=many)
    monkeypatch.setattr(crm, "jwt_login", real_jwt)

    services.upgrade_rollback(actor=admin, connection=many)  # the error freed the account

    (run,) = MigrationRun.objects.all()
    assert (run.state, run.succeeded, run.claim) == ("done", 3, None)
    assert file_users(run.files[0]) == [crm_name(i) for i in range(3)]


def test_two_clicks_while_the_run_is_under_way_give_one_run_and_show_its_progress(
    many: CrmConnection, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued: list[int] = []
    monkeypatch.setattr(migration, "migration_enqueue", enqueued.append)  # worker not yet on it

    first = admin_client.post(URL + "migrate/")
    second = admin_client.post(URL + "migrate/")

    (run,) = MigrationRun.objects.all()
    assert enqueued == [run.pk]
    assert first["Location"] == second["Location"] == f"{URL}?run={run.pk}"
    page = admin_client.get(second["Location"]).content.decode()
    assert "already running" not in page
    assert "Migrating <strong" in page
    assert f'>0</strong> of <strong data-progress="total">{USERS}<' in page
    assert progress(admin_client, run.pk)["state"] == "queued"


def test_another_accounts_admin_cannot_see_a_runs_progress(
    many: CrmConnection, admin_client: Client, other_account: Account
) -> None:
    admin_client.post(URL + "migrate/")
    run = MigrationRun.objects.get()
    intruder = client_for(make_user(other_account, "eve", Role.ADMINISTRATOR))

    assert intruder.get(f"{URL}migrate/{run.pk}/progress/").status_code == 404
    page = intruder.get(f"{URL}?run={run.pk}").content.decode()
    assert "migration-results" not in page
    assert (
        client_for(make_user(many.account, "mo", Role.MARKETING_USER))
        .get(f"{URL}migrate/{run.pk}/progress/")
        .status_code
        == 403
    )


def tandem(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["connect", *args])
    return result.exit_code, result.output


@pytest.mark.usefixtures("mc_consumer_key")
def test_the_cli_queues_a_run_in_the_background_and_reports_its_status(
    many: CrmConnection, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued: list[int] = []
    monkeypatch.setattr(migration, "migration_enqueue", enqueued.append)

    code, output = tandem(
        "migrate-users", "--account", "Northwind", "--admin", "ada", "--background", "--json"
    )

    assert code == 0, output
    queued = json.loads(output)
    (run,) = MigrationRun.objects.all()
    assert queued == {"run": run.pk, "state": "queued", "total": USERS}
    assert enqueued == [run.pk]
    code, output = tandem("migrate-status", "--run", str(run.pk), "--json")
    assert code == 0, output
    assert json.loads(output)["processed"] == 0

    migration.migration_execute(run_id=run.pk)

    code, output = tandem("migrate-status", "--run", str(run.pk), "--json")
    status = json.loads(output)
    assert (status["state"], status["processed"], status["succeeded"]) == ("done", USERS, USERS)
    code, output = tandem("migrate-status", "--run", str(run.pk))
    assert output.strip() == (
        f"Run {run.pk} is done: {USERS} of {USERS} users tried, {USERS} reconnected, 0 failed."
    )


def test_migrate_status_of_an_unknown_run_is_one_line_and_exit_2(db: None) -> None:
    code, output = tandem("migrate-status", "--run", "999")

    assert code == 2
    assert output.strip().splitlines() == ["tandem: error: there is no migration run 999"]


def test_the_run_is_sent_by_name_to_the_workers_task_once_its_claim_commits(
    many: CrmConnection,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from celery import current_app

    from tandem.engagement.connect.tasks import migrate_users_task

    sent: list[tuple[str, tuple[int, ...]]] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args: sent.append((name, args)))
    monkeypatch.setattr(migration, "migration_enqueue", REAL_ENQUEUE)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = migration.migration_start(actor=admin, connection=many)
    assert sent == []  # nothing reaches the broker before the run is committed
    for callback in callbacks:
        callback()

    assert sent == [(migrate_users_task.name, (run.pk,))]
    assert migrate_users_task.name == migration.MIGRATE_TASK
