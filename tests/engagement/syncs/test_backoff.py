"""A failing source backs off: the scheduler waits longer after each failed run in a row."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.tokens import tokens_forget
from tandem.engagement.syncs.models import RunOutcome, SyncSource
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.selectors import sources_due
from tandem.engagement.syncs.setup import source_setup
from tests.engagement.syncs.conftest import SyncCrm


@pytest.fixture
def crm_contacts(legacy: CrmConnection, sync_crm: SyncCrm) -> SyncCrm:
    for n in range(1, 11):
        sync_crm.put("Contact", f"003{n:015d}", Email=f"c{n}@example.com", LastName="Smith")
    return sync_crm


@pytest.fixture
def source(crm_contacts: SyncCrm, account: Account) -> SyncSource:
    return source_setup(account=account, object_name="Contact", fields=["Email", "LastName"])


def failed_run(source: SyncSource) -> SyncSource:
    assert source_run(source_id=source.pk).outcome == RunOutcome.FAILED
    source.refresh_from_db()
    return source


def test_each_failure_in_a_row_doubles_the_wait_before_the_next_scheduled_run(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    crm_contacts.fail_after = 0  # the CRM does not answer
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for failures, wait in [(1, 60), (2, 120), (3, 240), (4, 480)]:
            failed = failed_run(source)
            assert failed.consecutive_failures == failures
            assert failed.next_attempt_at == timezone.now() + timedelta(seconds=wait)
            clock.shift(wait - 1)
            assert sources_due() == []  # still backing off
            clock.shift(1)
            assert sources_due() == [source.pk]


def test_the_wait_is_capped(source: SyncSource, crm_contacts: SyncCrm, settings: Any) -> None:
    settings.SYNC_BACKOFF_MAX_SECONDS = 100
    crm_contacts.fail_after = 0
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(3):
            failed = failed_run(source)
        assert failed.consecutive_failures == 3  # uncapped, it would wait 240 s
        assert failed.next_attempt_at == timezone.now() + timedelta(seconds=100)


def test_a_server_error_and_refused_credentials_back_off_too(
    source: SyncSource, crm_contacts: SyncCrm, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    def server_error(**_: Any) -> None:
        raise CrmError("server_error", "Service Unavailable", 503)

    monkeypatch.setattr(crm_contacts, "query_all", server_error)
    assert failed_run(source).consecutive_failures == 1
    monkeypatch.undo()
    crm_contacts.passwords["system@acme.test"] = "changed"  # the system user's password
    tokens_forget(account.pk)
    assert failed_run(source).consecutive_failures == 2


def test_a_success_resets_the_backoff(source: SyncSource, crm_contacts: SyncCrm) -> None:
    crm_contacts.fail_after = 0
    failed_run(source)
    failed_run(source)
    crm_contacts.fail_after = None
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert source_run(source_id=source.pk).outcome == RunOutcome.DONE
        source.refresh_from_db()
        assert (source.consecutive_failures, source.next_attempt_at) == (0, None)
        crm_contacts.fail_after = 0
        assert failed_run(source).next_attempt_at == timezone.now() + timedelta(seconds=60)


def test_a_run_by_hand_runs_at_once_while_backing_off(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    crm_contacts.fail_after = 0
    failed_run(source)
    crm_contacts.fail_after = None
    assert sources_due() == []
    result = CliRunner().invoke(
        app,
        ["connect", "sync", "run", "--account", source.account.name, "--object", "Contact"],
    )
    assert result.exit_code == 0, result.output
    source.refresh_from_db()
    assert (source.outcome, source.consecutive_failures, source.rows_added) == ("done", 0, 10)


def test_status_and_page_show_the_backoff(
    source: SyncSource, crm_contacts: SyncCrm, client: Client, admin: User
) -> None:
    crm_contacts.fail_after = 0
    with time_machine.travel(timezone.now(), tick=False):
        failed_run(source)
        failed = failed_run(source)
        result = CliRunner().invoke(
            app, ["connect", "sync", "status", "--account", source.account.name, "--json"]
        )
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.output)
        assert row["consecutive_failures"] == 2
        assert row["next_attempt_at"] == failed.next_attempt_at.isoformat()
        client.force_login(admin)
        page = client.get("/email/admin/salesforce-integration/sync/").content.decode()
    shown = f"after {failed.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
    assert "2 failed runs in a row" in page
    assert shown in page


def test_no_backoff_is_shown_for_a_healthy_source(
    source: SyncSource, client: Client, admin: User
) -> None:
    assert source_run(source_id=source.pk).outcome == RunOutcome.DONE
    client.force_login(admin)
    page = client.get("/email/admin/salesforce-integration/sync/").content.decode()
    assert "in a row" not in page
