"""Ingest CSV columns that name a parent by its external id (`Account.External_Id__c`): the
row's lookup is set to that parent's Id in the job's org; an unknown key fails that row alone."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Contact
from tests.crm.api.bulk import ingest, rows
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _account(api: Api, name: str, key: str) -> str:
    response = api.post("/sobjects/Account", {"Name": name, "External_Id__c": key})
    assert response.status_code == 201, response.content
    account_id: str = response.json()["id"]
    return account_id


def _accounts_of_contacts() -> dict[str, str | None]:
    return dict(Contact.objects.values_list("last_name", "account_id"))


def test_insert_sets_the_lookup_to_the_parent_named_by_its_external_id(api: Api) -> None:
    acme = _account(api, "Acme", "ACC-1")
    globex = _account(api, "Globex", "ACC-2")

    job_id = ingest(
        api,
        "LastName,Account.External_Id__c\nAda,ACC-1\nGrace,ACC-2\nKay,\n",
        object="Contact",
        operation="insert",
    )

    assert _accounts_of_contacts() == {"Ada": acme, "Grace": globex, "Kay": None}
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [(r["LastName"], r["Account.External_Id__c"]) for r in done] == [
        ("Ada", "ACC-1"),
        ("Grace", "ACC-2"),
        ("Kay", ""),
    ]


def test_an_unknown_parent_key_fails_that_row_alone(api: Api) -> None:
    acme = _account(api, "Acme", "ACC-1")

    job_id = ingest(
        api,
        "LastName,Account.External_Id__c\nAda,ACC-1\nLost,NOPE\nKay,ACC-1\n",
        object="Contact",
        operation="insert",
    )

    assert _accounts_of_contacts() == {"Ada": acme, "Kay": acme}
    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [(r["LastName"], r["sf__Error"]) for r in failed] == [
        (
            "Lost",
            "INVALID_FIELD:Foreign key external ID: NOPE not found for field External_Id__c in "
            "entity Account: --",
        )
    ]


def test_another_orgs_parent_with_the_same_key_is_not_used(
    api: Api, tokens: Any, outsider: Any
) -> None:
    other = Api(tokens.issue(outsider))
    _account(other, "Theirs", "SHARED")
    _account(other, "Only theirs", "THEIRS")
    ours = _account(api, "Ours", "SHARED")

    job_id = ingest(
        api,
        "LastName,Account.External_Id__c\nAda,SHARED\nGrace,THEIRS\n",
        object="Contact",
        operation="insert",
    )

    assert Contact.objects.get(last_name="Ada").account_id == ours
    assert not Contact.objects.filter(last_name="Grace").exists()
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [r["LastName"] for r in failed] == ["Grace"]
    assert failed[0]["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: THEIRS ")


def test_a_parent_in_the_recycle_bin_is_not_found(api: Api) -> None:
    gone = _account(api, "Gone", "ACC-9")
    assert api.delete(f"/sobjects/Account/{gone}").status_code == 204

    job_id = ingest(
        api, "LastName,Account.External_Id__c\nAda,ACC-9\n", object="Contact", operation="insert"
    )

    assert not Contact.objects.exists()
    assert rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))[0]["sf__Error"].startswith(
        "INVALID_FIELD:Foreign key external ID: ACC-9 "
    )


def test_upsert_and_update_move_and_clear_the_parent(api: Api) -> None:
    acme = _account(api, "Acme", "ACC-1")
    globex = _account(api, "Globex", "ACC-2")
    ingest(
        api,
        "External_Id__c,LastName,account.external_id__c\nC-1,Ada,ACC-1\nC-2,Kay,ACC-1\n",
        object="Contact",
        operation="upsert",
        externalIdFieldName="External_Id__c",
    )
    assert _accounts_of_contacts() == {"Ada": acme, "Kay": acme}

    ingest(
        api,
        "External_Id__c,Account.External_Id__c\nC-1,ACC-2\nC-2,#N/A\n",
        object="Contact",
        operation="upsert",
        externalIdFieldName="External_Id__c",
    )
    assert _accounts_of_contacts() == {"Ada": globex, "Kay": None}

    kay = Contact.objects.get(last_name="Kay").pk
    ingest(api, f"Id,Account.External_Id__c\n{kay},ACC-1\n", object="Contact", operation="update")
    assert _accounts_of_contacts() == {"Ada": globex, "Kay": acme}


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("LastName,Account.Name", "Field name not found : Account.Name"),
        ("LastName,Nothing.External_Id__c", "Field name not found : Nothing.External_Id__c"),
        ("LastName,AccountId,Account.External_Id__c", "Duplicate field name : AccountId"),
    ],
)
def test_a_column_that_is_no_parent_external_id_fails_the_upload(
    api: Api, header: str, problem: str
) -> None:
    _account(api, "Acme", "ACC-1")
    values = ",".join(["Ada"] + ["ACC-1"] * (header.count(",")))

    job_id = ingest(api, f"{header}\n{values}\n", object="Contact", operation="insert")

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "Failed"
    assert info["errorMessage"] == f"InvalidBatch : {problem}"
    assert not Contact.objects.exists()
