"""The migration files in My Documents: names, exact columns, header always, never overwritten."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.models import ConnectionState, CrmConnection
from tandem.engagement.connect.services.autoconnect import MigrationRow
from tandem.engagement.connect.services.migration import (
    CSV_COLUMNS,
    migration_csv,
    users_migrate,
)
from tandem.engagement.content.models import ContentFile
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm

COLUMNS = [
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
]


@pytest.fixture
def upgraded(legacy: CrmConnection, crm: FakeCrm) -> CrmConnection:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    now = timezone.now()
    CrmConnection.objects.filter(pk=legacy.pk).update(
        state=ConnectionState.CONNECTED_APP,
        upgraded_at=now,
        window_ends_at=now + timedelta(days=14),
    )
    legacy.refresh_from_db()
    return legacy


def read(name: str) -> list[list[str]]:
    item = ContentFile.objects.get(name=name)
    with item.blob.open("rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode("utf-8"), newline="")))


def test_columns_are_exactly_the_documented_ones() -> None:
    assert list(CSV_COLUMNS) == COLUMNS


def test_empty_file_still_has_the_header() -> None:
    assert migration_csv([]) == (",".join(COLUMNS) + "\r\n").encode()


def test_fields_with_commas_and_quotes_are_quoted() -> None:
    row = MigrationRow("a", "b@x", "005", "failure", "invalid_grant", 'say "no", twice', "t")

    parsed = list(csv.reader(io.StringIO(migration_csv([row]).decode(), newline="")))

    assert parsed[1][5] == 'say "no", twice'


def test_run_writes_both_files_into_the_admins_my_documents(
    upgraded: CrmConnection, admin: User
) -> None:
    run = users_migrate(actor=admin, connection=upgraded)

    success, failures = (read(name) for name in run.files)
    assert success[0] == COLUMNS
    assert [r[1] for r in success[1:]] == ["maria@acme.test"]
    assert failures[1][1:6] == [
        "mark@acme.test",
        "005000000000003AAA",
        "failure",
        "invalid_app_access",
        "user is not admin approved to access this app",
    ]
    assert failures[1][6].endswith("Z")
    assert ContentFile.objects.filter(folder__owner=admin).count() == 2


def test_a_second_run_the_same_day_gets_distinct_names(
    upgraded: CrmConnection, admin: User
) -> None:
    first = users_migrate(actor=admin, connection=upgraded)
    second = users_migrate(actor=admin, connection=upgraded)

    assert set(first.files).isdisjoint(second.files)
    assert read(second.files[0]) == [COLUMNS]  # maria was already reconnected


def test_no_files_when_my_documents_in_content_is_off(
    upgraded: CrmConnection, admin: User, account: Account
) -> None:
    Account.objects.filter(pk=account.pk).update(my_documents_in_content=False)
    upgraded.refresh_from_db()

    run = users_migrate(actor=admin, connection=upgraded)

    assert run.files == []
    assert not ContentFile.objects.exists()


def test_migration_before_the_upgrade_is_refused(legacy: CrmConnection, admin: User) -> None:
    with pytest.raises(services.ConnectStateError):
        users_migrate(actor=admin, connection=legacy)
