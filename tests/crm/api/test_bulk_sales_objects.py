"""Bulk API 2.0 ingest of the sales and service objects: the shared record services apply."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.bulk.models import BulkJob
from tandem.crm.records.models import Account, Case, Opportunity
from tests.crm.api.bulk import ingest, rows
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_insert_opportunities_from_csv_with_account_id(api: Api, org: Any, admin: Any) -> None:
    account = Account.objects.create(org=org, owner=admin, name="Acme")
    data = (
        "Name,StageName,CloseDate,Amount,AccountId\n"
        f"Renewal,Closed Won,2026-12-31,1200.50,{account.pk}\n"
        f"Expansion,Prospecting,2027-01-15,,{account.pk}\n"
        "Bad stage,Dreaming,2027-01-15,5,\n"
    )

    job_id = ingest(api, data, object="Opportunity", operation="insert")

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    made = {o.name: o for o in Opportunity.objects.all()}
    assert set(made) == {"Renewal", "Expansion"}
    assert made["Renewal"].account_id == account.pk
    assert (made["Renewal"].amount, made["Renewal"].is_won, made["Renewal"].probability) == (
        1200.5,
        True,
        100,
    )
    assert made["Expansion"].amount is None
    failed = rows(api.get(f"/jobs/ingest/{job_id}/failedResults"))
    assert failed[0]["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")


def test_bulk_inserted_cases_get_distinct_numbers(api: Api) -> None:
    ingest(api, "Subject\nOne\nTwo\nThree\n", object="Case", operation="insert")

    numbers = sorted(Case.objects.values_list("case_number", flat=True))
    assert numbers == ["00001001", "00001002", "00001003"]


def test_case_numbers_follow_row_order_across_chunks_and_jobs(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL this is the fast path's numbering (whole chunks, rows built one by one
    among them); on SQLite the generic path's."""
    from tandem.crm.bulk import processing

    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 3)
    monkeypatch.setattr(processing, "INGEST_CHUNK", 3)
    assert api.post("/sobjects/Case", {"Subject": "By REST"}).status_code == 201
    data = "Subject,Status\nA,New\nB,Bogus\nC,Closed\nD,\nE,#N/A\nF,Working\nG,\n"

    ingest(api, data, object="Case", operation="insert")
    ingest(api, "Subject\nH\n", object="Case", operation="insert")

    made = dict(Case.objects.values_list("subject", "case_number"))
    assert made == {
        "By REST": "00001001",
        "A": "00001002",
        "C": "00001003",
        "D": "00001004",
        "F": "00001005",
        "G": "00001006",
        "H": "00001007",
    }
    closed = Case.objects.get(subject="C")
    assert (closed.is_closed, closed.closed_date is not None) == (True, True)
    assert Case.objects.filter(is_closed=True).count() == 1


def test_query_job_with_a_child_subquery_is_refused(api: Api) -> None:
    response = api.post(
        "/jobs/query",
        {
            "operation": "query",
            "query": "SELECT Name, (SELECT Name FROM Opportunities) FROM Account",
        },
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOB"
    assert BulkJob.objects.count() == 0
