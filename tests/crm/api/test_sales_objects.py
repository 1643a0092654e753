"""Opportunity, Case, Task and Event over REST: CRUD, validation, derived fields, polymorphic
lookups, SOQL parent hops and child subqueries."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Case, Event, Opportunity, Task
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _create(api: Api, sobject: str, body: dict[str, Any]) -> str:
    response = api.post(f"/sobjects/{sobject}", body)
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def _opportunity(api: Api, **extra: Any) -> str:
    body = {"Name": "Big deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", **extra}
    return _create(api, "Opportunity", body)


def _query(api: Api, soql: str) -> dict[str, Any]:
    response = api.get(f"/query?q={soql}")
    assert response.status_code == 200, response.json()
    return dict(response.json())


def test_describe_global_lists_the_sales_and_service_objects(api: Api) -> None:
    listed = {o["name"]: o["keyPrefix"] for o in api.get("/sobjects").json()["sobjects"]}

    assert {k: listed[k] for k in ("Opportunity", "Case", "Task", "Event")} == {
        "Opportunity": "006",
        "Case": "500",
        "Task": "00T",
        "Event": "00U",
    }
    assert {"User", "Organization", "Profile"} <= set(listed)


def test_opportunity_crud_and_stage_defaults(api: Api) -> None:
    account = _create(api, "Account", {"Name": "Acme"})
    opp = _opportunity(api, AccountId=account, Amount=5000)

    body = api.get(f"/sobjects/Opportunity/{opp}").json()
    assert (body["Probability"], body["IsClosed"], body["IsWon"]) == (10, False, False)
    assert body["ForecastCategoryName"] == "Pipeline"
    assert body["AccountId"] == account

    assert api.patch(f"/sobjects/Opportunity/{opp}", {"StageName": "Closed Won"}).status_code == 204
    won = Opportunity.objects.get(pk=opp)
    assert (won.probability, won.is_closed, won.is_won) == (100, True, True)

    assert api.delete(f"/sobjects/Opportunity/{opp}").status_code == 204
    assert api.get(f"/sobjects/Opportunity/{opp}").status_code == 404


def test_opportunity_probability_given_with_stage_is_kept(api: Api) -> None:
    opp = _opportunity(api, Probability=33)

    assert Opportunity.objects.get(pk=opp).probability == 33


def test_opportunity_required_fields(api: Api) -> None:
    response = api.post("/sobjects/Opportunity", {"Name": "No stage"})

    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert set(error["fields"]) == {"StageName", "CloseDate"}
    assert Opportunity.objects.count() == 0


def test_opportunity_bad_stage_changes_nothing(api: Api) -> None:
    opp = _opportunity(api)

    response = api.patch(f"/sobjects/Opportunity/{opp}", {"StageName": "Dreaming"})

    assert response.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert Opportunity.objects.get(pk=opp).stage_name == "Prospecting"


def test_opportunity_malformed_account_id(api: Api) -> None:
    response = api.post(
        "/sobjects/Opportunity",
        {
            "Name": "X",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
            "AccountId": "nope",
        },
    )

    assert response.json()[0]["errorCode"] == "MALFORMED_ID"
    assert Opportunity.objects.count() == 0


def test_case_numbers_defaults_and_closing(api: Api) -> None:
    first = _create(api, "Case", {"Subject": "Broken"})
    second = _create(api, "Case", {"Subject": "Also broken", "Origin": "Web"})

    body = api.get(f"/sobjects/Case/{first}").json()
    assert (body["CaseNumber"], body["Status"], body["Priority"]) == ("00001001", "New", "Medium")
    assert api.get(f"/sobjects/Case/{second}").json()["CaseNumber"] == "00001002"
    assert body["IsClosed"] is False
    assert body["ClosedDate"] is None

    assert api.patch(f"/sobjects/Case/{first}", {"Status": "Closed"}).status_code == 204
    closed = api.get(f"/sobjects/Case/{first}").json()
    assert closed["IsClosed"] is True
    assert closed["ClosedDate"] is not None


def test_case_number_is_read_only(api: Api) -> None:
    response = api.post("/sobjects/Case", {"CaseNumber": "1"})

    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert Case.objects.count() == 0


def test_case_bad_priority_refused(api: Api) -> None:
    response = api.post("/sobjects/Case", {"Priority": "Urgent"})

    assert response.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert Case.objects.count() == 0


def test_task_defaults_and_polymorphic_lookups(api: Api) -> None:
    contact = _create(api, "Contact", {"LastName": "Hopper"})
    opp = _opportunity(api)

    task = _create(api, "Task", {"Subject": "Call", "WhoId": contact, "WhatId": opp})

    body = api.get(f"/sobjects/Task/{task}").json()
    assert (body["Status"], body["Priority"], body["IsClosed"]) == ("Not Started", "Normal", False)
    assert (body["WhoId"], body["WhatId"]) == (contact, opp)
    api.patch(f"/sobjects/Task/{task}", {"Status": "Completed"})
    assert Task.objects.get(pk=task).is_closed is True


def test_who_id_of_the_wrong_type_is_refused(api: Api) -> None:
    account = _create(api, "Account", {"Name": "Acme"})

    response = api.post("/sobjects/Task", {"Subject": "Call", "WhoId": account})

    assert response.status_code == 400
    assert response.json() == [
        {
            "message": f"Name ID: id value of incorrect type: {account}",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["WhoId"],
        }
    ]
    assert Task.objects.count() == 0


def test_what_id_of_a_contact_is_refused(api: Api) -> None:
    contact = _create(api, "Contact", {"LastName": "Hopper"})

    response = api.post(
        "/sobjects/Event",
        {
            "Subject": "Meet",
            "WhatId": contact,
            "StartDateTime": "2026-12-01T10:00:00Z",
            "DurationInMinutes": 30,
        },
    )

    assert response.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert Event.objects.count() == 0


def test_describe_polymorphic_lookup(api: Api) -> None:
    fields = {f["name"]: f for f in api.get("/sobjects/Task/describe").json()["fields"]}

    assert fields["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert fields["WhatId"]["referenceTo"] == ["Account", "Opportunity", "Case", "Campaign"]
    assert (fields["WhoId"]["relationshipName"], fields["WhatId"]["relationshipName"]) == (
        "Who",
        "What",
    )
    assert fields["WhoId"]["polymorphicForeignKey"] is True
    assert fields["Status"]["nillable"] is False


def test_describe_child_relationships(api: Api) -> None:
    body = api.get("/sobjects/Account/describe").json()
    children = {r["relationshipName"]: r["childSObject"] for r in body["childRelationships"]}

    assert children["Opportunities"] == "Opportunity"
    assert children["Cases"] == "Case"
    assert children["Contacts"] == "Contact"
    assert (children["Tasks"], children["Events"]) == ("Task", "Event")


def test_event_duration_from_start_and_end(api: Api) -> None:
    event = _create(
        api,
        "Event",
        {
            "Subject": "Demo",
            "StartDateTime": "2026-12-01T10:00:00Z",
            "EndDateTime": "2026-12-01T11:30:00Z",
        },
    )

    body = api.get(f"/sobjects/Event/{event}").json()
    assert body["DurationInMinutes"] == 90
    assert body["ActivityDate"] == "2026-12-01"
    assert body["ActivityDateTime"] == "2026-12-01T10:00:00.000+0000"


def test_event_end_from_duration(api: Api) -> None:
    event = _create(
        api,
        "Event",
        {
            "StartDateTime": "2026-12-01T10:00:00Z",
            "DurationInMinutes": 45,
        },
    )

    assert api.get(f"/sobjects/Event/{event}").json()["EndDateTime"] == (
        "2026-12-01T10:45:00.000+0000"
    )


def test_event_needs_a_duration_unless_all_day(api: Api) -> None:
    missing = api.post("/sobjects/Event", {"StartDateTime": "2026-12-01T10:00:00Z"})
    all_day = api.post("/sobjects/Event", {"IsAllDayEvent": True, "ActivityDate": "2026-12-02"})

    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing.json()[0]["fields"] == ["DurationInMinutes"]
    assert all_day.status_code == 201
    assert Event.objects.get().duration_in_minutes == 1440


def test_event_end_before_start_refused(api: Api) -> None:
    response = api.post(
        "/sobjects/Event",
        {
            "StartDateTime": "2026-12-01T10:00:00Z",
            "EndDateTime": "2026-12-01T09:00:00Z",
        },
    )

    assert response.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert Event.objects.count() == 0


def test_soql_opportunity_parent_hop(api: Api) -> None:
    account = _create(api, "Account", {"Name": "Acme"})
    _opportunity(api, AccountId=account)

    body = _query(api, "SELECT Name, Account.Name FROM Opportunity")

    assert body["records"][0]["Account"]["Name"] == "Acme"


def test_soql_polymorphic_who_and_what(api: Api) -> None:
    contact = _create(api, "Contact", {"LastName": "Hopper", "FirstName": "Grace"})
    account = _create(api, "Account", {"Name": "Acme"})
    _create(api, "Task", {"Subject": "Call", "WhoId": contact, "WhatId": account})
    _create(api, "Task", {"Subject": "Alone"})

    body = _query(
        api, "SELECT Subject, Who.Name, Who.Type, What.Name, What.Type FROM Task ORDER BY Subject"
    )

    alone, call = body["records"]
    assert alone["Who"] is None
    assert alone["What"] is None
    assert (call["Who"]["Name"], call["Who"]["Type"]) == ("Grace Hopper", "Contact")
    assert (call["What"]["Name"], call["What"]["Type"]) == ("Acme", "Account")


def test_soql_where_on_polymorphic_hop(api: Api) -> None:
    lead = _create(api, "Lead", {"LastName": "Turing", "Company": "Bletchley"})
    contact = _create(api, "Contact", {"LastName": "Hopper"})
    _create(api, "Task", {"Subject": "Lead task", "WhoId": lead})
    _create(api, "Task", {"Subject": "Contact task", "WhoId": contact})

    body = _query(api, "SELECT Subject FROM Task WHERE Who.Type = 'Lead'")
    named = _query(api, "SELECT Subject FROM Task WHERE Who.Name LIKE 'hop%'")

    assert [r["Subject"] for r in body["records"]] == ["Lead task"]
    assert [r["Subject"] for r in named["records"]] == ["Contact task"]


def test_soql_account_child_subqueries(api: Api) -> None:
    acme = _create(api, "Account", {"Name": "Acme"})
    _create(api, "Account", {"Name": "Empty"})
    _opportunity(api, AccountId=acme, Name="B deal")
    _opportunity(api, AccountId=acme, Name="A deal")
    _create(api, "Case", {"Subject": "Broken", "AccountId": acme})

    body = _query(
        api,
        "SELECT Name, (SELECT Name FROM Opportunities ORDER BY Name), "
        "(SELECT Subject FROM Cases) FROM Account ORDER BY Name",
    )

    acme_row, empty_row = body["records"]
    assert [r["Name"] for r in acme_row["Opportunities"]["records"]] == ["A deal", "B deal"]
    assert acme_row["Opportunities"]["totalSize"] == 2
    assert acme_row["Opportunities"]["records"][0]["attributes"]["type"] == "Opportunity"
    assert acme_row["Cases"]["records"][0]["Subject"] == "Broken"
    assert empty_row["Opportunities"] is None
    assert empty_row["Cases"] is None


def test_soql_child_subquery_where_and_limit(api: Api) -> None:
    acme = _create(api, "Account", {"Name": "Acme"})
    for amount in (10, 20, 30):
        _opportunity(api, AccountId=acme, Name=f"O{amount}", Amount=amount)

    body = _query(
        api,
        "SELECT Name, (SELECT Name, Account.Name FROM Opportunities "
        "WHERE Amount > 10 ORDER BY Amount DESC LIMIT 1) FROM Account",
    )

    (child,) = body["records"][0]["Opportunities"]["records"]
    assert child["Name"] == "O30"
    assert child["Account"]["Name"] == "Acme"


def test_soql_polymorphic_child_subquery_on_contact(api: Api) -> None:
    contact = _create(api, "Contact", {"LastName": "Hopper"})
    lead = _create(api, "Lead", {"LastName": "Turing", "Company": "Bletchley"})
    _create(api, "Task", {"Subject": "Call Grace", "WhoId": contact})
    _create(api, "Task", {"Subject": "Call Alan", "WhoId": lead})

    body = _query(api, "SELECT Name, (SELECT Subject FROM Tasks) FROM Contact")
    leads = _query(api, "SELECT Name, (SELECT Subject FROM Tasks) FROM Lead")

    assert [r["Subject"] for r in body["records"][0]["Tasks"]["records"]] == ["Call Grace"]
    assert [r["Subject"] for r in leads["records"][0]["Tasks"]["records"]] == ["Call Alan"]


def test_soql_deleted_children_are_left_out(api: Api) -> None:
    acme = _create(api, "Account", {"Name": "Acme"})
    opp = _opportunity(api, AccountId=acme)
    api.delete(f"/sobjects/Opportunity/{opp}")

    body = _query(api, "SELECT Name, (SELECT Name FROM Opportunities) FROM Account")

    assert body["records"][0]["Opportunities"] is None


def test_soql_unknown_child_relationship(api: Api) -> None:
    response = api.get("/query?q=SELECT Name, (SELECT Name FROM Widgets) FROM Account")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


def test_soql_child_relationship_of_another_object(api: Api) -> None:
    response = api.get("/query?q=SELECT Name, (SELECT Name FROM Opportunities) FROM Contact")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


def test_composite_tree_account_opportunities_and_lead_tasks(api: Api) -> None:
    accounts = api.post(
        "/composite/tree/Account",
        {
            "records": [
                {
                    "attributes": {"type": "Account", "referenceId": "a1"},
                    "Name": "Initech",
                    "Opportunities": {
                        "records": [
                            {
                                "attributes": {"type": "Opportunity", "referenceId": "o1"},
                                "Name": "TPS",
                                "StageName": "Prospecting",
                                "CloseDate": "2026-12-31",
                            }
                        ]
                    },
                }
            ]
        },
    )
    leads = api.post(
        "/composite/tree/Lead",
        {
            "records": [
                {
                    "attributes": {"type": "Lead", "referenceId": "l1"},
                    "LastName": "Bolton",
                    "Company": "Initech",
                    "Tasks": {
                        "records": [
                            {
                                "attributes": {"type": "Task", "referenceId": "t1"},
                                "Subject": "Call Michael",
                            }
                        ]
                    },
                }
            ]
        },
    )

    assert (accounts.status_code, leads.status_code) == (201, 201)
    account_id = accounts.json()["results"][0]["id"]
    lead_id = leads.json()["results"][0]["id"]
    assert Opportunity.objects.get().account_id == account_id
    assert Task.objects.get().who_id == lead_id


def test_soql_child_subquery_rules(api: Api) -> None:
    twice = api.get(
        "/query?q=SELECT Name, (SELECT Name FROM Opportunities), "
        "(SELECT Id FROM opportunities) FROM Account"
    )
    unknown_field = api.get("/query?q=SELECT Name, (SELECT Shoe FROM Opportunities) FROM Account")
    nested = api.get(
        "/query?q=SELECT Name, (SELECT Name, (SELECT Subject FROM Tasks) "
        "FROM Opportunities) FROM Account"
    )

    assert twice.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert unknown_field.json()[0]["errorCode"] == "INVALID_FIELD"
    assert nested.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_query_more_batches_carry_child_records(api: Api) -> None:
    for n in range(205):
        account = _create(api, "Account", {"Name": f"A{n:03d}"})
        if n in (0, 204):
            _opportunity(api, AccountId=account, Name=f"Deal {n}")

    soql = "SELECT Name, (SELECT Name FROM Opportunities) FROM Account ORDER BY Name"
    first = api.get(f"/query?q={soql}", **{"Sforce-Query-Options": "batchSize=200"}).json()
    rest = api.get(first["nextRecordsUrl"].removeprefix("/services/data/v59.0")).json()

    assert first["records"][0]["Opportunities"]["records"][0]["Name"] == "Deal 0"
    assert rest["records"][-1]["Opportunities"]["records"][0]["Name"] == "Deal 204"
    assert rest["records"][0]["Opportunities"] is None


def test_soql_polymorphic_ids_and_order(api: Api) -> None:
    zed = _create(api, "Contact", {"LastName": "Zed"})
    abe = _create(api, "Lead", {"LastName": "Abe", "Company": "A"})
    _create(api, "Task", {"Subject": "z", "WhoId": zed})
    _create(api, "Task", {"Subject": "a", "WhoId": abe})

    body = _query(api, "SELECT Subject, Who.Id FROM Task ORDER BY Who.Name")
    only = _query(api, f"SELECT Subject FROM Task WHERE Who.Id = '{zed}'")

    assert [(r["Subject"], r["Who"]["Id"]) for r in body["records"]] == [("a", abe), ("z", zed)]
    assert body["records"][0]["Who"]["attributes"]["type"] == "Name"
    assert [r["Subject"] for r in only["records"]] == ["z"]
