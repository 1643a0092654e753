"""`tandem connect sync setup | run | status | pause | resume | filter`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import User
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.syncs.models import SyncSource
from tests.engagement.syncs.conftest import SyncCrm


def tandem(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["connect", "sync", *args])
    return result.exit_code, result.output


@pytest.fixture
def crm_leads(legacy: CrmConnection, sync_crm: SyncCrm, admin: User) -> SyncCrm:
    for n in range(5):
        sync_crm.put("Lead", f"00Q{n:015d}", Email=f"l{n}@example.com", Company="Acme")
    return sync_crm


def setup(*fields: str) -> tuple[int, str]:
    return tandem(
        "setup",
        "--account",
        "Northwind",
        "--admin",
        "ada",
        "--object",
        "Lead",
        "--fields",
        ",".join(fields),
        "--json",
    )


def test_setup_run_and_status(crm_leads: SyncCrm) -> None:
    code, output = setup("Email", "Company")
    assert code == 0, output
    assert json.loads(output)[0]["data_extension"] == "Lead_Salesforce"

    code, output = tandem("run", "--account", "Northwind", "--object", "Lead", "--json")
    assert code == 0, output
    assert json.loads(output)["added"] == 5

    code, output = tandem("status", "--account", "Northwind", "--json")
    row = json.loads(output)[0]
    assert (row["rows"], row["outcome"], row["rows_added"]) == (5, "done", 5)


def test_setup_with_an_unknown_field_exits_2_and_saves_nothing(crm_leads: SyncCrm) -> None:
    code, output = setup("Email", "Nope__c")
    assert code == 2
    assert "Nope__c" in output
    assert len(output.strip().splitlines()) == 1
    assert not SyncSource.objects.exists()


def test_setup_with_a_bad_schedule_exits_2(crm_leads: SyncCrm) -> None:
    code, output = tandem(
        "setup",
        "--account",
        "Northwind",
        "--admin",
        "ada",
        "--object",
        "Lead",
        "--fields",
        "Email",
        "--schedule",
        "weekly",
    )
    assert code == 2
    assert "weekly" in output
    assert not SyncSource.objects.exists()


def test_pause_and_resume(crm_leads: SyncCrm) -> None:
    setup("Email")
    code, output = tandem(
        "pause", "--account", "Northwind", "--admin", "ada", "--object", "Lead", "--json"
    )
    assert code == 0
    assert json.loads(output)[0]["state"] == "paused"
    code, output = tandem(
        "resume", "--account", "Northwind", "--admin", "ada", "--object", "Lead", "--json"
    )
    assert json.loads(output)[0]["state"] == "active"


def test_run_of_an_unknown_source_exits_2(crm_leads: SyncCrm) -> None:
    code, output = tandem("run", "--account", "Northwind", "--object", "Contact")
    assert code == 2
    assert "no synchronized data source" in output


def test_filter_saves_a_filtered_de_and_refuses_a_bad_condition(crm_leads: SyncCrm) -> None:
    from tandem.engagement.syncs.models import FilteredDataExtension

    setup("Email", "Company")
    code, output = tandem(
        "filter",
        "--account",
        "Northwind",
        "--admin",
        "ada",
        "--object",
        "Lead",
        "--name",
        "Acme leads",
        "--where",
        "Company equals Acme",
    )
    assert code == 0, output
    assert FilteredDataExtension.objects.get().conditions == [
        {"field": "Company", "op": "equals", "value": "Acme"}
    ]
    code, output = tandem(
        "filter",
        "--account",
        "Northwind",
        "--admin",
        "ada",
        "--object",
        "Lead",
        "--name",
        "Other",
        "--where",
        "Nope equals x",
    )
    assert code == 2
    assert "'Nope' is not a field" in output
    assert FilteredDataExtension.objects.count() == 1
