"""Every change to a synchronized data source by a user is one audit row with old and new
values; a refused change writes none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import AuditEvent, User
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.syncs.models import FilteredDataExtension, SyncSource
from tandem.engagement.syncs.run import source_run
from tests.engagement.syncs.conftest import SyncCrm

URL = "/email/admin/salesforce-integration/sync/"


@pytest.fixture
def leads(legacy: CrmConnection, sync_crm: SyncCrm) -> SyncCrm:
    sync_crm.put("Lead", "00Q000000000000001", Email="l1@example.com", Company="Acme")
    return sync_crm


def entries() -> list[tuple[str, str, str, Any, Any]]:
    events = AuditEvent.objects.filter(action__startswith="sync.").order_by("pk")
    return list(events.values_list("action", "actor_label", "target", "old_value", "new_value"))


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["connect", "sync", *args, "--account", "Northwind"])
    return result.exit_code, result.output


@pytest.fixture
def lead_source(leads: SyncCrm, admin_client: Client) -> SyncSource:
    response = admin_client.post(URL + "Lead/setup/", {"fields": ["Email"], "schedule": "1h"})
    assert response.status_code == 302
    return SyncSource.objects.get()


def test_setup_then_a_change_are_audited_with_old_and_new_values(
    lead_source: SyncSource, admin_client: Client
) -> None:
    assert entries() == [
        (
            "sync.created",
            "ada",
            "Lead_Salesforce",
            None,
            {"fields": ["Id", "Email"], "schedule": "1h"},
        )
    ]
    admin_client.post(URL + "Lead/setup/", {"fields": ["Email", "Company"], "schedule": "1d"})
    assert entries()[1:] == [
        (
            "sync.changed",
            "ada",
            "Lead_Salesforce",
            {"fields": ["Id", "Email"], "schedule": "1h"},
            {"fields": ["Id", "Email", "Company"], "schedule": "1d"},
        )
    ]


def test_setting_up_the_same_fields_again_writes_no_entry(
    lead_source: SyncSource, admin_client: Client
) -> None:
    admin_client.post(URL + "Lead/setup/", {"fields": ["Email"], "schedule": "1h"})
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_a_refused_setup_writes_no_entry(leads: SyncCrm, admin_client: Client) -> None:
    refused = admin_client.post(URL + "Lead/setup/", {"fields": ["Email", "Bogus__c"]})
    assert refused.status_code == 400
    bad_schedule = admin_client.post(URL + "Lead/setup/", {"fields": ["Email"], "schedule": "2w"})
    assert bad_schedule.status_code == 400
    assert not SyncSource.objects.exists()
    assert entries() == []


def test_a_refused_change_writes_no_entry(lead_source: SyncSource, admin_client: Client) -> None:
    refused = admin_client.post(URL + "Lead/setup/", {"fields": ["Bogus__c"], "schedule": "1d"})
    assert refused.status_code == 400
    lead_source.refresh_from_db()
    assert (lead_source.fields, lead_source.schedule) == (["Id", "Email"], "1h")
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_pause_and_resume_on_the_page_are_audited(
    lead_source: SyncSource, admin_client: Client
) -> None:
    admin_client.post(URL + "Lead/pause/", {"paused": "1"})
    admin_client.post(URL + "Lead/pause/", {"paused": "1"})  # paused already: no change
    admin_client.post(URL + "Lead/pause/", {"paused": "0"})
    assert entries()[1:] == [
        ("sync.paused", "ada", "Lead_Salesforce", {"state": "active"}, {"state": "paused"}),
        ("sync.resumed", "ada", "Lead_Salesforce", {"state": "paused"}, {"state": "active"}),
    ]


def test_pause_and_resume_by_the_cli_are_audited_as_the_named_admin(
    lead_source: SyncSource,
) -> None:
    assert cli("pause", "--admin", "ada", "--object", "Lead")[0] == 0
    assert cli("resume", "--admin", "ada", "--object", "Lead")[0] == 0
    assert [entry[:2] for entry in entries()[1:]] == [
        ("sync.paused", "ada"),
        ("sync.resumed", "ada"),
    ]


def test_a_pause_by_someone_not_an_administrator_is_refused_and_not_audited(
    lead_source: SyncSource, marketer: User
) -> None:
    code, output = cli("pause", "--admin", "mia", "--object", "Lead")
    assert code == 2
    assert "not an Administrator" in output
    lead_source.refresh_from_db()
    assert lead_source.state == "active"
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_a_filter_is_audited_and_a_refused_one_is_not(lead_source: SyncSource) -> None:
    code, output = cli(
        "filter",
        "--admin",
        "ada",
        "--object",
        "Lead",
        "--name",
        "Acme",
        "--where",
        "Email ends_with @x",
    )
    assert code == 0, output
    code, _ = cli(
        "filter", "--admin", "ada", "--object", "Lead", "--name", "Bad", "--where", "Nope equals x"
    )
    assert code == 2
    assert entries()[1:] == [
        (
            "sync.filter_created",
            "ada",
            "Acme",
            None,
            {
                "over": "Lead_Salesforce",
                "conditions": [{"field": "Email", "op": "ends_with", "value": "@x"}],
            },
        )
    ]


def test_a_filter_on_the_page_is_audited_and_a_refused_one_is_not(
    lead_source: SyncSource, admin_client: Client
) -> None:
    form = {"source": str(lead_source.pk), "name": "Acme", "conditions": "Email contains a"}
    assert admin_client.post(URL + "filtered/", form).status_code == 302
    refused = admin_client.post(URL + "filtered/", {**form, "name": "Other", "conditions": ""})
    assert refused.status_code == 400
    assert [entry[:3] for entry in entries()[1:]] == [("sync.filter_created", "ada", "Acme")]


def test_remove_on_the_page_deletes_the_source_its_de_and_filters_and_is_audited(
    lead_source: SyncSource, admin_client: Client
) -> None:
    source_run(source_id=lead_source.pk)
    admin_client.post(
        URL + "filtered/",
        {"source": str(lead_source.pk), "name": "Acme", "conditions": "Email contains a"},
    )
    response = admin_client.post(URL + "Lead/remove/", {"confirm": "1"})
    assert response.status_code == 302
    assert not SyncSource.objects.exists()
    assert not DataExtension.objects.filter(name="Lead_Salesforce").exists()
    assert not DataExtensionRow.objects.exists()
    assert not FilteredDataExtension.objects.exists()
    assert entries()[-1] == (
        "sync.removed",
        "ada",
        "Lead_Salesforce",
        {
            "fields": ["Id", "Email"],
            "schedule": "1h",
            "state": "active",
            "rows": 1,
            "filters": ["Acme"],
        },
        None,
    )


def test_remove_without_the_confirmation_box_changes_nothing(
    lead_source: SyncSource, admin_client: Client
) -> None:
    response = admin_client.post(URL + "Lead/remove/", {}, follow=True)
    assert "Tick the box to confirm" in response.content.decode()
    assert SyncSource.objects.filter(pk=lead_source.pk).exists()
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_remove_while_a_run_holds_the_source_is_refused(lead_source: SyncSource) -> None:
    lease = timezone.now() + timedelta(seconds=60)
    SyncSource.objects.filter(pk=lead_source.pk).update(lease_token="x", lease_until=lease)
    code, output = cli("remove", "--admin", "ada", "--object", "Lead")
    assert code == 2
    assert "going on" in output
    assert len(output.strip().splitlines()) == 1
    assert SyncSource.objects.filter(pk=lead_source.pk).exists()
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_remove_by_the_cli_is_audited(lead_source: SyncSource) -> None:
    code, output = cli("remove", "--admin", "ada", "--object", "Lead")
    assert code == 0, output
    assert not SyncSource.objects.exists()
    assert [entry[:3] for entry in entries()[-1:]] == [("sync.removed", "ada", "Lead_Salesforce")]


def test_remove_of_an_unknown_source_exits_2(leads: SyncCrm, admin: User) -> None:
    code, output = cli("remove", "--admin", "ada", "--object", "Lead")
    assert code == 2
    assert "no synchronized data source" in output
    assert entries() == []


def test_a_marketer_cannot_remove_on_the_page(
    lead_source: SyncSource, marketer_client: Client
) -> None:
    assert marketer_client.post(URL + "Lead/remove/", {"confirm": "1"}).status_code == 403
    assert SyncSource.objects.exists()
    assert [entry[0] for entry in entries()] == ["sync.created"]


def test_remove_of_a_send_audience_is_refused_and_changes_nothing(
    lead_source: SyncSource, email: Any
) -> None:
    from tandem.engagement.sends.models import Send

    Send.objects.create(
        account=lead_source.account,
        name="To leads",
        email=email,
        data_extension_id=lead_source.data_extension_id,
    )
    SyncSource.objects.filter(pk=lead_source.pk).update(state="paused")
    code, output = cli("remove", "--admin", "ada", "--object", "Lead")
    assert code == 2
    assert "A send uses Lead_Salesforce" in output
    lead_source.refresh_from_db()
    assert lead_source.state == "paused"
    assert DataExtension.objects.filter(pk=lead_source.data_extension_id).exists()
    assert [entry[0] for entry in entries()] == ["sync.created"]
