"""Attacks from another org on opportunities, cases, tasks and events: nothing is seen, read,
changed, linked to or counted across orgs."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Case, Contact, Event, Opportunity, Task
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_records(api: Api) -> dict[str, str]:
    """One record of each new object in Acme, linked to an account and a contact."""
    account = api.post("/sobjects/Account", {"Name": "Acme Corp"}).json()["id"]
    contact = api.post("/sobjects/Contact", {"LastName": "Secret", "AccountId": account}).json()
    made = {"Account": account, "Contact": contact["id"]}
    bodies = {
        "Opportunity": {
            "Name": "Secret deal",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
            "AccountId": account,
        },
        "Case": {"Subject": "Secret case", "AccountId": account},
        "Task": {"Subject": "Secret task", "WhoId": contact["id"], "WhatId": account},
        "Event": {
            "Subject": "Secret event",
            "StartDateTime": "2026-12-01T10:00:00Z",
            "DurationInMinutes": 30,
            "WhatId": account,
        },
    }
    for name, body in bodies.items():
        response = api.post(f"/sobjects/{name}", body)
        assert response.status_code == 201, response.json()
        made[name] = response.json()["id"]
    return made


@pytest.fixture
def intruder(tokens: Any, outsider: Any) -> Api:
    return Api(tokens.issue(outsider))


@pytest.mark.parametrize("sobject", ["Opportunity", "Case", "Task", "Event"])
def test_another_org_cannot_read_change_or_delete(
    intruder: Api, acme_records: dict[str, str], sobject: str
) -> None:
    record_id = acme_records[sobject]

    assert intruder.get(f"/sobjects/{sobject}/{record_id}").status_code == 404
    assert intruder.patch(f"/sobjects/{sobject}/{record_id}", {"Subject": "x"}).status_code == 404
    assert intruder.delete(f"/sobjects/{sobject}/{record_id}").status_code == 404
    body = intruder.get(f"/query?q=SELECT Id FROM {sobject}").json()
    assert body["totalSize"] == 0
    assert intruder.get(f"/queryAll?q=SELECT Id FROM {sobject}").json()["totalSize"] == 0
    model = {"Opportunity": Opportunity, "Case": Case, "Task": Task, "Event": Event}[sobject]
    assert model.objects.filter(pk=record_id, is_deleted=False).exists()


def test_another_org_cannot_link_to_acme_records(
    intruder: Api, acme_records: dict[str, str]
) -> None:
    attempts = [
        (
            "Opportunity",
            {
                "Name": "Steal",
                "StageName": "Prospecting",
                "CloseDate": "2026-12-31",
                "AccountId": acme_records["Account"],
            },
        ),
        ("Case", {"ContactId": acme_records["Contact"]}),
        ("Task", {"WhoId": acme_records["Contact"]}),
        ("Task", {"WhatId": acme_records["Opportunity"]}),
        (
            "Event",
            {
                "WhatId": acme_records["Case"],
                "StartDateTime": "2026-12-01T10:00:00Z",
                "DurationInMinutes": 5,
            },
        ),
    ]
    for sobject, body in attempts:
        response = intruder.post(f"/sobjects/{sobject}", body)
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert Opportunity.objects.count() == Case.objects.count() == Event.objects.count() == 1
    assert Task.objects.count() == 1


def test_another_orgs_children_never_show_in_subqueries(
    api: Api, intruder: Api, acme_records: dict[str, str], outsider: Any
) -> None:
    # Globex's own account, whose children are queried; Acme's children must not appear even
    # when a Globex task is forced (in the database) to point at Acme's account.
    globex = Account.objects.create(org=outsider.org, owner=outsider, name="Globex")
    Task.objects.create(
        org=outsider.org, owner=outsider, subject="Globex task", what_id=acme_records["Account"]
    )

    mine = intruder.get(
        "/query?q=SELECT Name, (SELECT Subject FROM Tasks), "
        "(SELECT Name FROM Opportunities) FROM Account"
    ).json()
    theirs = api.get("/query?q=SELECT Name, (SELECT Subject FROM Tasks) FROM Account").json()

    assert [r["Name"] for r in mine["records"]] == [globex.name]
    assert mine["records"][0]["Tasks"] is None
    assert mine["records"][0]["Opportunities"] is None
    subjects = [t["Subject"] for t in theirs["records"][0]["Tasks"]["records"]]
    assert subjects == ["Secret task"]


def test_polymorphic_name_of_another_orgs_record_is_not_shown(
    intruder: Api, acme_records: dict[str, str], outsider: Any
) -> None:
    Task.objects.create(
        org=outsider.org, owner=outsider, subject="Forged", who_id=acme_records["Contact"]
    )

    body = intruder.get("/query?q=SELECT Subject, Who.Name FROM Task").json()

    assert body["records"][0]["Who"]["Name"] is None
    assert Contact.objects.get(pk=acme_records["Contact"]).name == "Secret"
