"""Property: whatever JSON bodies, SOQL and headers reach the REST API, the answer is never a
5xx; an error is Salesforce's error body, and an error writes nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db.models import Count, Max, Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.records.models import Account, Campaign, CampaignMember, Contact, Lead
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db
MODELS = (Account, Contact, Lead, Campaign, CampaignMember)
FIELDS = [
    "LastName",
    "FirstName",
    "Email",
    "AccountId",
    "Birthdate",
    "HasOptedOutOfEmail",
    "External_Id__c",
    "Name",
    "NumberOfEmployees",
    "AnnualRevenue",
    "Id",
    "attributes",
    "Contacts",
    "CreatedDate",
    "Nope__c",
    "Last\x00Name",
]
ODD_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "é",
    "💥",
    "null",
    "'; DROP TABLE x;--",
    "a" * 300,
    "2026-11-29",
    "2026-11-29T08:00:00Z",
    "9999-12-31T23:59:00-23:59",
    "001",
    "003000000000000AAA",
    "@{a.id}",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(ODD_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3),
    ),
    max_leaves=8,
)
records = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)


def _fingerprint() -> tuple[Any, ...]:
    """Counts, deletions and the latest change of every record table: any write moves it."""
    return tuple(_table_state(model) for model in MODELS)


def _table_state(model: Any) -> tuple[Any, ...]:
    deleted = Count("pk", filter=Q(is_deleted=True))
    state = model.objects.aggregate(n=Count("pk"), deleted=deleted, changed=Max("system_modstamp"))
    return (state["n"], state["deleted"], state["changed"])


def _check(response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, list | dict), body
        if isinstance(body, list):
            assert set(body[0]) >= {"message", "errorCode"}, body
        assert _fingerprint() == before


def _raw(value: Any) -> str:
    """JSON text; NaN and Infinity come out as the non-JSON tokens a client might still send."""
    return json.dumps(value)


PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


def test_json_bodies_to_record_endpoints(api: Api) -> None:
    contact = api.post("/sobjects/Contact", {"LastName": "Keep"}).json()["id"]
    paths = [
        ("post", "/sobjects/Contact"),
        ("post", "/sobjects/Account"),
        ("patch", f"/sobjects/Contact/{contact}"),
        ("patch", "/sobjects/Contact/External_Id__c/K-1"),
    ]

    @PROFILE
    @given(target=st.sampled_from(paths), body=st.one_of(records, json_values))
    def check(target: tuple[str, str], body: Any) -> None:
        method, path = target
        before = _fingerprint()
        response = getattr(api.client, method)(
            V + path, _raw(body), content_type="application/json", headers=api.headers
        )
        _check(response, before)

    check()


def test_json_bodies_to_the_composite_family(api: Api) -> None:
    typed = st.builds(
        lambda r, kind, ref: {**r, "attributes": {"type": kind, "referenceId": ref}},
        records,
        st.sampled_from(["Contact", "Account", "Lead", "Nope"]),
        st.sampled_from(["r1", "r2", "", "r1"]),
    )
    sub = st.fixed_dictionaries(
        {
            "method": st.sampled_from(["GET", "POST", "PATCH", "DELETE", "BREW"]),
            "url": st.sampled_from(
                [
                    f"{V}/sobjects/Contact",
                    f"{V}/sobjects/Contact/@{{r1.id}}",
                    f"{V}/query?q=SELECT+Id+FROM+Contact",
                    "/x",
                    f"{V}/composite",
                ]
            ),
            "referenceId": st.sampled_from(["r1", "r2", "bad id"]),
            "body": st.one_of(records, json_values),
        }
    )
    bodies = st.one_of(
        st.tuples(
            st.just("/composite/sobjects"),
            st.fixed_dictionaries(
                {
                    "allOrNone": st.one_of(st.booleans(), json_values),
                    "records": st.lists(typed, max_size=3),
                }
            ),
        ),
        st.tuples(
            st.just("/composite/tree/Account"),
            st.fixed_dictionaries({"records": st.lists(typed, max_size=3)}),
        ),
        st.tuples(
            st.just("/composite"),
            st.fixed_dictionaries(
                {"allOrNone": st.booleans(), "compositeRequest": st.lists(sub, max_size=3)}
            ),
        ),
        st.tuples(
            st.just("/composite/batch"),
            st.fixed_dictionaries(
                {
                    "haltOnError": st.booleans(),
                    "batchRequests": st.lists(
                        st.fixed_dictionaries(
                            {
                                "method": st.sampled_from(["GET", "POST"]),
                                "url": st.sampled_from(
                                    ["v59.0/sobjects/Contact", "v59.0/limits", "nope"]
                                ),
                                "richInput": records,
                            }
                        ),
                        max_size=3,
                    ),
                }
            ),
        ),
        st.tuples(
            st.sampled_from(["/composite", "/composite/batch", "/composite/sobjects"]), json_values
        ),
    )

    @PROFILE
    @given(target=bodies)
    def check(target: tuple[str, Any]) -> None:
        path, body = target
        before = _fingerprint()
        response = api.client.post(
            V + path, _raw(body), content_type="application/json", headers=api.headers
        )
        _check(response, before)
        if path == "/composite" and response.status_code == 200 and body.get("allOrNone"):
            results = response.json()["compositeResponse"]
            if any(r["httpStatusCode"] >= 400 for r in results):
                assert _fingerprint() == before

    check()


SOQL_FIELDS = ["Id", "LastName", "Email", "Account.Name", "CreatedDate", "Nope", "COUNT()"]
LITERALS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**62, max_value=2**80).map(str),
    st.floats().map(repr),
    st.text(max_size=12).map(lambda t: "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    st.sampled_from(["null", "TODAY", "LAST_N_DAYS:3", "2026-11-29", "true", "1.5e3", "'\x00'"]),
)
soql = st.one_of(
    st.builds(
        lambda fields, obj, field, op, literal, tail: (
            f"SELECT {', '.join(fields)} FROM {obj} WHERE {field} {op} {literal}{tail}"
        ),
        st.lists(st.sampled_from(SOQL_FIELDS), min_size=1, max_size=3),
        st.sampled_from(["Contact", "Account", "Lead", "Nope", "User"]),
        st.sampled_from(["LastName", "Email", "CreatedDate", "Name", "NumberOfEmployees"]),
        st.sampled_from(["=", "!=", "<", "LIKE", "IN", "INCLUDES"]),
        LITERALS,
        st.sampled_from(["", " LIMIT 5", " ORDER BY Id", " OFFSET 3", " LIMIT -1"]),
    ),
    st.text(max_size=60),
)
headers = st.one_of(
    st.text(max_size=30),
    st.builds("batchSize={}".format, st.one_of(st.integers().map(str), st.text(max_size=8))),
)


def test_soql_and_query_options(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Seen"})

    @PROFILE
    @given(text=soql, options=headers, all_rows=st.booleans())
    def check(text: str, options: str, all_rows: bool) -> None:
        before = _fingerprint()
        path = "/queryAll?" if all_rows else "/query?"
        response = api.client.get(
            V + path + urlencode({"q": text}),
            headers={**api.headers, "Sforce-Query-Options": options.replace("\n", " ")},
        )
        _check(response, before)
        if response.status_code == 200:
            assert {"totalSize", "done", "records"} <= set(response.json())

    check()


def test_generated_paths(api: Api) -> None:
    @PROFILE
    @given(
        segments=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
        method=st.sampled_from(["GET", "DELETE", "PATCH"]),
    )
    def check(segments: list[str], method: str) -> None:
        before = _fingerprint()
        path = "/sobjects/" + "/".join(quote(s, safe="") for s in segments)
        response = api.client.generic(
            method, V + path, "{}", content_type="application/json", headers=api.headers
        )
        _check(response, before)

    check()
