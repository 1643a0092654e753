"""Bulk API 2.0 ingest jobs: create, upload, close, run, results; each operation."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.bulk.models import BulkJob
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Account, Contact
from tests.crm.api.bulk import ingest, put_csv, rows
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def test_create_answers_the_job_open_with_its_options(api: Api, admin: Any) -> None:
    response = api.post(
        "/jobs/ingest",
        {
            "object": "Contact",
            "operation": "insert",
            "lineEnding": "CRLF",
            "columnDelimiter": "PIPE",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("750")
    assert len(body["id"]) == 18
    assert body["state"] == "Open"
    assert body["object"] == "Contact"
    assert body["operation"] == "insert"
    assert body["createdById"] == admin.pk
    assert body["apiVersion"] == 59.0
    assert body["contentType"] == "CSV"
    assert body["concurrencyMode"] == "Parallel"
    assert body["lineEnding"] == "CRLF"
    assert body["columnDelimiter"] == "PIPE"
    assert body["contentUrl"] == f"services/data/v59.0/jobs/ingest/{body['id']}/batches"


def test_insert_creates_every_good_row_and_reports_each(api: Api) -> None:
    job_id = ingest(
        api,
        "LastName,Email\nAda,ada@x.test\nGrace,grace@x.test\n",
        object="Contact",
        operation="insert",
    )

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "JobComplete"
    assert info["jobType"] == "V2Ingest"
    assert info["numberRecordsProcessed"] == 2
    assert info["numberRecordsFailed"] == 0
    made = {c.last_name: c for c in Contact.objects.all()}
    assert set(made) == {"Ada", "Grace"}
    assert made["Ada"].email == "ada@x.test"
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [(r["sf__Id"], r["sf__Created"], r["LastName"]) for r in done] == [
        (made["Ada"].pk, "true", "Ada"),
        (made["Grace"].pk, "true", "Grace"),
    ]
    assert rows(api.get(f"/jobs/ingest/{job_id}/failedResults")) == []


def test_a_bad_row_fails_alone(api: Api) -> None:
    data = "LastName,Email,Birthdate\nAda,,1815-12-10\n,nobody@x.test,\nGrace,,not-a-date\nKay,,\n"

    job_id = ingest(api, data, object="Contact", operation="insert")

    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["Ada", "Kay"]
    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "JobComplete"
    assert info["numberRecordsProcessed"] == 4
    assert info["numberRecordsFailed"] == 2
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [r["Email"] for r in failed] == ["nobody@x.test", ""]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failed[0]["sf__Id"] == ""
    assert failed[1]["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
    assert [r["LastName"] for r in rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))] == [
        "Ada",
        "Kay",
    ]


def test_typed_values_booleans_numbers_and_null(api: Api) -> None:
    account = Account.objects.create(
        org=api_org(api), owner=api_user(api), name="Old", number_of_employees=5, website="old.test"
    )
    data = f"Id,Name,NumberOfEmployees,AnnualRevenue,Website\n{account.pk},New,12,1.5e3,#N/A\n"

    job_id = ingest(api, data, object="Account", operation="update")

    account.refresh_from_db()
    assert (account.name, account.number_of_employees) == ("New", 12)
    assert account.annual_revenue == 1500.0
    assert account.website is None
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [(r["sf__Id"], r["sf__Created"]) for r in done] == [(account.pk, "false")]


def test_an_insert_that_collides_with_a_unique_value_fails_that_row_only(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Taken", "External_Id__c": "T"})
    data = "LastName,External_Id__c\nA,A1\nCopy,T\nB,B1\n"

    job_id = ingest(api, data, object="Contact", operation="insert")

    assert sorted(Contact.objects.values_list("external_id", flat=True)) == ["A1", "B1", "T"]
    [failed] = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert failed["LastName"] == "Copy"
    assert failed["sf__Error"].startswith("DUPLICATE_VALUE:")
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [r["LastName"] for r in done] == ["A", "B"]
    assert {r["sf__Id"] for r in done} == set(
        Contact.objects.filter(external_id__in=["A1", "B1"]).values_list("pk", flat=True)
    )


@pytest.mark.parametrize("value", ["1_000", "12 ", "0x10", "nan", "twelve"])
def test_a_number_in_another_form_fails_its_row(api: Api, value: str) -> None:
    job_id = ingest(
        api, f"Name,NumberOfEmployees\nBad,{value}\nGood,7\n", object="Account", operation="insert"
    )

    assert list(Account.objects.values_list("name", "number_of_employees")) == [("Good", 7)]
    [failed] = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert failed["NumberOfEmployees"] == value
    assert failed["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")


def test_an_empty_value_leaves_the_field_as_it_is(api: Api) -> None:
    account = Account.objects.create(
        org=api_org(api), owner=api_user(api), name="Keep", website="keep.test"
    )

    ingest(api, f"Id,Name,Website\n{account.pk},Renamed,\n", object="Account", operation="update")

    account.refresh_from_db()
    assert (account.name, account.website) == ("Renamed", "keep.test")


def test_update_of_a_missing_or_foreign_id_fails_that_row(
    api: Api, tokens: Any, outsider: Any
) -> None:
    theirs = Account.objects.create(org=outsider.org, owner=outsider, name="Theirs")
    data = f"Id,Name\n{theirs.pk},Stolen\n,NoId\n"

    job_id = ingest(api, data, object="Account", operation="update")

    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [r["sf__Error"].split(":")[0] for r in failed] == ["NOT_FOUND", "MISSING_ARGUMENT"]
    assert failed[0]["sf__Id"] == theirs.pk


def test_upsert_by_external_id_creates_and_updates(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Old", "External_Id__c": "E-1"})
    data = "External_Id__c,LastName\nE-1,Updated\nE-2,Created\n"

    job_id = ingest(
        api, data, object="Contact", operation="upsert", externalIdFieldName="External_Id__c"
    )

    by_key = {c.external_id: c for c in Contact.objects.all()}
    assert by_key["E-1"].last_name == "Updated"
    assert by_key["E-2"].last_name == "Created"
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [(r["External_Id__c"], r["sf__Created"]) for r in done] == [
        ("E-1", "false"),
        ("E-2", "true"),
    ]
    assert {r["sf__Id"] for r in done} == {by_key["E-1"].pk, by_key["E-2"].pk}


def test_upsert_duplicate_external_ids_fail_every_copy_and_change_nothing(api: Api) -> None:
    data = "External_Id__c,LastName\nD,First\nD,Second\nU,Unique\n"

    job_id = ingest(
        api, data, object="Contact", operation="upsert", externalIdFieldName="External_Id__c"
    )

    assert list(Contact.objects.values_list("external_id", flat=True)) == ["U"]
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [r["LastName"] for r in failed] == ["First", "Second"]
    assert all(r["sf__Error"].startswith("DUPLICATE_EXTERNAL_ID:") for r in failed)


def test_delete_moves_records_to_the_recycle_bin(api: Api) -> None:
    ids = [api.post("/sobjects/Contact", {"LastName": n}).json()["id"] for n in ("A", "B")]

    job_id = ingest(api, "Id\n" + "\n".join(ids) + "\n", object="Contact", operation="delete")

    assert Contact.objects.filter(is_deleted=True).count() == 2
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [r["sf__Id"] for r in done] == ids


def test_hard_delete_erases_records(api: Api) -> None:
    ids = [api.post("/sobjects/Contact", {"LastName": n}).json()["id"] for n in ("A", "B")]

    ingest(api, f"Id\n{ids[0]}\n", object="Contact", operation="hardDelete")

    assert list(Contact.objects.values_list("pk", flat=True)) == [ids[1]]


def test_delimiter_line_ending_quotes_and_bom(api: Api) -> None:
    data = '\ufeffLastName|Description\r\n"Lovelace|Ada"|"line one\r\nsaid ""hi"""\r\n'

    job_id = ingest(
        api,
        data.encode(),
        object="Contact",
        operation="insert",
        columnDelimiter="PIPE",
        lineEnding="CRLF",
    )

    contact = Contact.objects.get()
    assert contact.last_name == "Lovelace|Ada"
    assert contact.description == 'line one\r\nsaid "hi"'
    text = api.get(f"/jobs/ingest/{job_id}/successfulResults").content.decode()
    assert text.startswith('"sf__Id"|"sf__Created"|"LastName"|"Description"\r\n')
    assert text.endswith('|"true"|"Lovelace|Ada"|"line one\r\nsaid ""hi"""\r\n')


def test_an_upload_larger_than_djangos_body_cap_is_taken(api: Api, settings: Any) -> None:
    rows_wanted = 3000
    data = "LastName,Description\n" + "".join(f"P{n},{'x' * 1000}\n" for n in range(rows_wanted))
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    job_id = ingest(api, data, object="Contact", operation="insert")

    assert api.get(f"/jobs/ingest/{job_id}").json()["numberRecordsProcessed"] == rows_wanted
    assert Contact.objects.count() == rows_wanted


def test_list_shows_the_orgs_ingest_jobs(api: Api) -> None:
    first = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).json()["id"]

    body = api.get("/jobs/ingest").json()

    assert body["done"] is True
    assert body["nextRecordsUrl"] is None
    assert [(j["id"], j["jobType"], j["state"]) for j in body["records"]] == [
        (first, "V2Ingest", "Open")
    ]


def test_delete_a_finished_job_removes_it(api: Api) -> None:
    job_id = ingest(api, "LastName\nA\n", object="Contact", operation="insert")

    assert api.delete(f"/jobs/ingest/{job_id}").status_code == 204
    assert api.get(f"/jobs/ingest/{job_id}").status_code == 404
    assert Contact.objects.count() == 1  # the records the job made stay


def test_upload_complete_hands_the_job_to_a_crm_worker(
    api: Api, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from tandem.crm.bulk import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks.bulk_job_task, "delay", queued.append)
    job_id = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).json()["id"]
    put_csv(api, job_id, "LastName\nA\n")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"/jobs/ingest/{job_id}", {"state": "UploadComplete"})

    assert response.json()["state"] == "UploadComplete"
    assert queued == [job_id]
    assert Contact.objects.count() == 0  # nothing runs in the web request
    assert job_run(job_id).value == "done"
    assert BulkJob.objects.get(pk=job_id).state == "JobComplete"


def test_bulk_calls_count_against_the_limit_even_for_marketing_cloud(
    tokens: Any, system_user: Any
) -> None:
    mc = Api(tokens.issue(system_user, app="Salesforce Marketing Cloud"))

    response = mc.get("/jobs/ingest")

    assert response["Sforce-Limit-Info"] == "api-usage=1/" + str(system_user.org.api_daily_limit)


def api_org(api: Api) -> Any:
    return _principal(api).org


def api_user(api: Api) -> Any:
    return _principal(api).user


def _principal(api: Api) -> Any:
    from tandem.crm.api import auth

    token = api.headers["Authorization"].split()[1]
    return auth.token_principal(token)


assert V  # the version prefix the helpers use
