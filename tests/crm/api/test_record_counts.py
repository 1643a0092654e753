"""limits/recordCount: live records per sObject type in the caller's org (what
`sf org list sobject record-counts` reads)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def intruder(tokens: Any, outsider: Any) -> Api:
    return Api(tokens.issue(outsider))


def _counts(api: Api, query: str) -> dict[str, int]:
    response = api.get(f"/limits/recordCount{query}")
    assert response.status_code == 200
    return {row["name"]: row["count"] for row in response.json()["sObjects"]}


def test_counts_the_named_types_live_records(api: Api) -> None:
    ids = [api.post("/sobjects/Contact", {"LastName": f"C{n}"}).json()["id"] for n in range(3)]
    api.post("/sobjects/Account", {"Name": "Acme"})
    api.delete(f"/sobjects/Contact/{ids[0]}")

    assert _counts(api, "?sObjects=Contact,Account") == {"Contact": 2, "Account": 1}


def test_unknown_names_are_left_out(api: Api) -> None:
    api.post("/sobjects/Lead", {"LastName": "L", "Company": "Co"})

    assert _counts(api, "?sObjects=Lead,Nope__c,") == {"Lead": 1}


def test_no_names_counts_every_type(api: Api) -> None:
    api.post("/sobjects/Account", {"Name": "Acme"})
    describe = api.get("/sobjects").json()["sobjects"]

    counts = _counts(api, "?sObjects")

    assert set(counts) == {o["name"] for o in describe}
    assert counts["Account"] == 1


def test_another_orgs_records_are_not_counted(api: Api, intruder: Api) -> None:
    intruder.post("/sobjects/Contact", {"LastName": "Theirs"})
    api.post("/sobjects/Contact", {"LastName": "Ours"})

    assert _counts(api, "?sObjects=Contact") == {"Contact": 1}
    assert _counts(intruder, "?sObjects=Contact") == {"Contact": 1}
