"""Ingest CSV columns that name the parent of a polymorphic lookup (Task and Event's WhoId and
WhatId) with Salesforce's `ObjectType:Relationship.IndexedField` syntax: the named type must be
one the lookup takes, and a key that matches no record, or several, fails its row alone."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Contact, Lead, Task
from tests.crm.api.bulk import ingest, rows
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org: Any, admin: Any) -> dict[str, str]:
    made = {
        "lead": Lead.objects.create(
            org=org, owner=admin, last_name="Lee", company="L Co", email="lee@example.com"
        ),
        "contact": Contact.objects.create(
            org=org, owner=admin, last_name="Cole", email="cole@example.com", external_id="C-1"
        ),
        "account": Account.objects.create(org=org, owner=admin, name="Acme", external_id="A-1"),
    }
    return {name: record.pk for name, record in made.items()}


def _tasks() -> dict[str, tuple[str | None, str | None]]:
    return {t.subject: (t.who_id, t.what_id) for t in Task.objects.all()}


def test_typed_parent_columns_set_who_and_what(api: Api, people: dict[str, str]) -> None:
    data = (
        "Subject,Status,Lead:Who.Email,Account:What.External_Id__c\n"
        "Call Lee,Not Started,lee@example.com,A-1\n"
        "Alone,Not Started,,\n"
    )

    job_id = ingest(api, data, object="Task", operation="insert")

    assert _tasks() == {"Call Lee": (people["lead"], people["account"]), "Alone": (None, None)}
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [r["Lead:Who.Email"] for r in done] == ["lee@example.com", ""]


def test_a_contact_by_its_external_id_case_insensitive_header(
    api: Api, people: dict[str, str]
) -> None:
    ingest(
        api,
        "Subject,contact:who.external_id__c\nCall Cole,C-1\n",
        object="Task",
        operation="insert",
    )

    assert _tasks() == {"Call Cole": (people["contact"], None)}


def test_update_moves_who_from_a_contact_to_a_lead(api: Api, people: dict[str, str]) -> None:
    ingest(
        api,
        "Subject,Contact:Who.Email\nFollow up,cole@example.com\n",
        object="Task",
        operation="insert",
    )
    task = Task.objects.get().pk

    ingest(api, f"Id,Lead:Who.Email\n{task},lee@example.com\n", object="Task", operation="update")

    assert _tasks() == {"Follow up": (people["lead"], None)}


def test_a_key_that_matches_nothing_or_several_fails_its_row_alone(
    api: Api, org: Any, admin: Any, people: dict[str, str]
) -> None:
    for name in ("Twin", "Twain"):
        Lead.objects.create(
            org=org, owner=admin, last_name=name, company="T", email="twin@example.com"
        )
    data = (
        "Subject,Lead:Who.Email\n"
        "Good,lee@example.com\nNobody,nobody@example.com\nAmbiguous,twin@example.com\n"
    )

    job_id = ingest(api, data, object="Task", operation="insert")

    assert _tasks() == {"Good": (people["lead"], None)}
    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 2)
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert [(r["Subject"], r["sf__Error"]) for r in failed] == [
        (
            "Nobody",
            "INVALID_FIELD:Foreign key external ID: nobody@example.com not found for "
            "field Email in entity Lead: --",
        ),
        (
            "Ambiguous",
            "INVALID_FIELD:Foreign key external ID: twin@example.com matched more "
            "than one record for field Email in entity Lead: --",
        ),
    ]


def test_a_contact_key_is_not_looked_up_among_leads(api: Api, people: dict[str, str]) -> None:
    job_id = ingest(
        api,
        "Subject,Lead:Who.Email\nWrong type,cole@example.com\n",
        object="Task",
        operation="insert",
    )

    assert not Task.objects.exists()
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert failed[0]["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: cole@")


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Subject,User:Who.Email", "Field name not found : User:Who.Email"),
        ("Subject,Lead:What.Email", "Field name not found : Lead:What.Email"),
        ("Subject,Lead:Who.LastName", "Field name not found : Lead:Who.LastName"),
        ("Subject,Nothing:Who.Email", "Field name not found : Nothing:Who.Email"),
        ("Subject,Lead:Who.Email,Contact:Who.Email", "Duplicate field name : WhoId"),
        ("Subject,WhoId,Lead:Who.Email", "Duplicate field name : WhoId"),
        (
            "Subject,Who.External_Id__c",
            "Field name not found : Who.External_Id__c (the WhoId lookup is polymorphic: name the "
            "parent type, as in Contact:Who.External_Id__c)",
        ),
    ],
)
def test_a_column_of_a_type_the_lookup_does_not_take_fails_the_upload(
    api: Api, people: dict[str, str], header: str, problem: str
) -> None:
    values = ",".join(["Call"] + ["lee@example.com"] * header.count(","))

    job_id = ingest(api, f"{header}\n{values}\n", object="Task", operation="insert")

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert (info["state"], info["numberRecordsProcessed"]) == ("Failed", 0)
    assert info["errorMessage"] == f"InvalidBatch : {problem}"
    assert not Task.objects.exists()


def test_a_typed_column_on_a_plain_lookup_names_its_own_type(
    api: Api, people: dict[str, str]
) -> None:
    ingest(
        api,
        "LastName,Account:Account.External_Id__c\nAda,A-1\n",
        object="Contact",
        operation="insert",
    )
    assert Contact.objects.get(last_name="Ada").account_id == people["account"]

    job_id = ingest(
        api,
        "LastName,Lead:Account.Email\nBob,lee@example.com\n",
        object="Contact",
        operation="insert",
    )
    assert api.get(f"/jobs/ingest/{job_id}").json()["errorMessage"] == (
        "InvalidBatch : Field name not found : Lead:Account.Email"
    )
    assert not Contact.objects.filter(last_name="Bob").exists()


def test_contact_email_is_an_id_lookup_in_describe(api: Api) -> None:
    fields = {f["name"]: f for f in api.get("/sobjects/Contact/describe").json()["fields"]}
    assert (fields["Email"]["idLookup"], fields["Email"]["externalId"]) == (True, False)
    assert fields["Phone"]["idLookup"] is False
