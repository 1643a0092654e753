"""Property: whatever SOQL, headers and JSON bodies reach the REST API with a valid bearer
token, the answer is never a 5xx; an error is Salesforce's `[{"message", "errorCode"}]` list
and writes nothing (record and query-cursor row counts unchanged).

Every example runs in a savepoint that is rolled back afterwards, so the examples do not see
each other's records, and a failing one cannot spoil the next on PostgreSQL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import set_token_value

from tandem.crm.api.models import QueryLocator
from tandem.crm.oauth.models import AccessToken
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.models import (
    Account,
    Campaign,
    CampaignMember,
    Contact,
    IndividualEmailResult,
    Lead,
    Report,
)
from tandem.crm.users.models import User

pytestmark = pytest.mark.django_db
V = "/services/data/v59.0"
COUNTED = (
    Account,
    Contact,
    Lead,
    Campaign,
    CampaignMember,
    Report,
    IndividualEmailResult,
    QueryLocator,
)
# TANDEM_FUZZ_EXAMPLES=2000 digs deeper by hand; the suite's 100 a test take seconds.
EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
OBJECTS = [o.name for o in REGISTRY.all()]
FIELDS = sorted({f.name for o in REGISTRY.all() for f in o.fields})

# --- values -----------------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "'",
    "\\",
    "\\'",
    "%",
    "_",
    "é",
    "💥",
    "\u202e",
    "\n",
    "a" * 300,
    "null",
    "true",
    "1e400",
    "-0",
    "0x10",
    "١٢٣",
]
BIG_NUMBERS = [2**63, -(2**63) - 1, 2**64, 10**40, 2**31, -1, 0]
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD_TEXT))
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    text,
    st.integers(),
    st.sampled_from(BIG_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
field_name = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["attributes", "Id", "id"]), text)
record_values = st.dictionaries(field_name, json_value, max_size=6)
BIG_FLOATS = [1e300, -1e300, 1e20, 5e-324, 123456789012345.678]


def value_for(field: Any) -> st.SearchStrategy[Any]:
    """A third each: the field's edge values, ordinary values of its type, anything at all."""
    kind, size = str(field.type), field.length or 255
    if kind == "int":
        edge, own = st.sampled_from([*BIG_NUMBERS, 2**31, -(2**31) - 1]), st.integers()
    elif kind in ("double", "currency"):
        edge = st.sampled_from([*BIG_FLOATS, *BIG_NUMBERS])
        own = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        edge, own = st.sampled_from([0, 1, "true", "false", None]), st.booleans()
    elif kind in ("date", "datetime"):
        edge = st.sampled_from(
            [
                "2026-02-30",
                "0000-01-01",
                "9999-12-31T23:59:60Z",
                "-1",
                "2026-01-01T00:00:00+25:00",
                "10000-01-01",
                "2026-1-1",
            ]
        )
        own = st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.isoformat() + "Z"))
    elif field.picklist_values:
        edge, own = (
            st.sampled_from(["", "x" * (size + 1), "\x00"]),
            st.sampled_from(field.picklist_values),
        )
    elif kind == "reference":
        edge = st.sampled_from(["001000000000000AAA", "003xxxxxxxxxxxxxxx", "", "x" * 19, "\x00"])
        own = st.text(max_size=18)
    else:
        edge = st.sampled_from(["x" * size, "x" * (size + 1), "é" * size, "\x00", ""])
        own = st.text(max_size=20)
    return st.one_of(edge, own, json_value)


@st.composite
def record_of(draw: Callable[..., Any], sobject: str) -> dict[str, Any]:
    """A record body for `sobject`: its required fields set, a few fields of any value."""
    describe = REGISTRY.get(sobject)
    writable = [f for f in describe.fields if f.createable] if describe else []
    if not writable:
        return dict(draw(record_values))
    values: dict[str, Any] = {
        f.name: f.picklist_values[0] if f.picklist_values else "Fuzz"
        for f in writable
        if not f.nillable and not f.default_on_create and str(f.type) != "boolean"
    }
    for field in draw(st.lists(st.sampled_from(writable), min_size=1, max_size=4)):
        values[field.name] = draw(value_for(field))
    return values


class Raw(bytes):
    """A body that prints short in a falsifying example."""

    def __repr__(self) -> str:
        head = bytes(self[:60])
        return f"Raw({head!r}{'…' if len(self) > 60 else ''} {len(self)} bytes)"


# Raw bodies no json.dumps would write: non-finite and huge numbers, deep nesting, bad UTF-8.
RAW_BODIES = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"1e400",
    b'{"LastName": 1e400}',
    b"NaN",
    b'{"LastName": NaN}',
    b'{"LastName": Infinity}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b"\xff\xfe",
    b'{"LastName": "\\ud800"}',
    b'{"NumberOfEmployees": 1' + b"0" * 400 + b"}",
    b'{"LastName": "x\\u0000y"}',
    b'{"Name": "x", "AnnualRevenue": 1e400}',
    b'{"Name": "x", "AnnualRevenue": NaN}',
]
raw_body = st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=40)).map(Raw)


def body_of(value: Any) -> bytes:
    return value if isinstance(value, bytes) else Raw(json.dumps(value).encode())


json_body = st.one_of(record_values.map(body_of), json_value.map(body_of), raw_body)


def body_for(sobject: str) -> st.SearchStrategy[bytes]:
    """Mostly a record of the object, sometimes any JSON or bytes at all."""
    return st.one_of(record_of(sobject).map(body_of), record_of(sobject).map(body_of), json_body)


# --- SOQL -------------------------------------------------------------------------------------

soql_literal = st.one_of(
    st.integers().map(str),
    st.sampled_from(BIG_NUMBERS).map(str),
    st.sampled_from(
        [
            "1e400",
            "1.5",
            "-0.0",
            "99999999999999999999999999.9",
            "2026-13-45",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "TODAY",
            "LAST_N_DAYS:99999999999",
            "NEXT_N_DAYS:-1",
            "null",
            "true",
            "FALSE",
            "'a'",
            "'\\''",
            "'\\x'",
            "''",
            "'%'",
            "'\x00'",
            "('a','b')",
            "()",
        ]
    ),
    text.map(lambda t: "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"),
)
operator = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN", "INCLUDES"])


def field_of(draw: Callable[..., Any], sobject: str) -> str:
    """Mostly a field of the queried object, sometimes any name at all."""
    describe = REGISTRY.get(sobject)
    own = [f.name for f in describe.fields] if describe else FIELDS
    return str(
        draw(
            st.one_of(
                st.sampled_from(own),
                st.sampled_from(own),
                st.sampled_from(
                    ["COUNT()", "Account.Name", "Owner.Name", "FORMAT(Name)", "*", "Nope"]
                ),
            )
        )
    )


@st.composite
def soql(draw: Callable[..., Any]) -> str:
    """A SELECT that is often valid and often not quite."""
    sobject = draw(st.sampled_from([*OBJECTS, "Nope"]))
    fields = [field_of(draw, sobject) for _ in range(draw(st.integers(1, 4)))]
    parts = [f"SELECT {', '.join(fields)} FROM {sobject}"]
    conditions = [
        f"{field_of(draw, sobject)} {draw(operator)} {draw(soql_literal)}"
        for _ in range(draw(st.integers(0, 4)))
    ]
    if conditions:
        parts.append("WHERE " + draw(st.sampled_from([" AND ", " OR "])).join(conditions))
    if draw(st.booleans()):
        parts.append(
            f"ORDER BY {field_of(draw, sobject)} "
            f"{draw(st.sampled_from(['', 'ASC', 'DESC NULLS LAST']))}"
        )
    for clause in ("LIMIT", "OFFSET"):
        if draw(st.booleans()):
            parts.append(f"{clause} {draw(st.one_of(st.integers(), st.sampled_from(BIG_NUMBERS)))}")
    query = " ".join(parts)
    if draw(st.integers(0, 4)) == 0:  # mutate: cut or splice in a character
        at = draw(st.integers(0, len(query)))
        query = (
            query[:at]
            + draw(st.sampled_from(["", "'", "(", ")", ",", "\x00", " OR"]))
            + (query[at + 1 :])
        )
    return query


queries = st.one_of(
    soql(),
    st.text(max_size=80),
    st.sampled_from(
        [
            "SELECT Id FROM Contact WHERE " + " OR ".join(f"LastName = 'n{i}'" for i in range(300)),
            "SELECT Id FROM Contact WHERE "
            + " OR ".join(f"LastName = 'n{i}'" for i in range(3000)),
            "SELECT Id FROM Account WHERE NumberOfEmployees = 18446744073709551616",
            "SELECT Id FROM Contact WHERE Id IN ("
            + ",".join(f"'003{i:015d}'" for i in range(500))
            + ")",
            "SELECT " + ", ".join(["Id"] * 500) + " FROM Contact",
            "SELECT Id FROM Contact WHERE " + "(" * 200 + "LastName = 'a'" + ")" * 200,
        ]
    ),
)


query_options = st.one_of(
    st.text(max_size=30),
    st.builds(lambda n: f"batchSize={n}", st.one_of(st.integers(), st.sampled_from(BIG_NUMBERS))),
    st.sampled_from(
        [
            "batchSize=",
            "batchSize=١٢٣",
            "batchSize=2000,batchSize=1",
            ",,,",
            "batchSize=1" + " " * 1000,
            "batchSize=²",
            "batchSize=" + "9" * 5000,
        ]
    ),
)

# --- the call and the property ----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes
    changed: bool | None  # None when a 5xx left nothing to compare
    head: bool = False  # a HEAD answer has no body to check


class _Undo(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


def _counts() -> tuple[int, ...]:
    """Row counts of every record table and the query cursors, in one statement."""
    tables = [connection.ops.quote_name(model._meta.db_table) for model in COUNTED]
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return tuple(cursor.fetchone())


class Api:
    """Sends one call in a savepoint that is always rolled back."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_HOST="localhost", raise_request_exception=False)
        self.token = token

    def send(self, method: str, path: str, body: bytes = b"", **headers: str) -> Answer:
        try:
            with transaction.atomic():
                before = _counts()
                response = self.client.generic(
                    method,
                    V + path,
                    body,
                    content_type=headers.pop("content_type", "application/json"),
                    headers={"Authorization": f"Bearer {self.token}", **headers},
                )
                changed = None if response.status_code >= 500 else _counts() != before
                answer = Answer(response.status_code, response.content, changed, method == "HEAD")
                raise _Undo(answer)
        except _Undo as undo:
            return undo.answer


def assert_salesforce_answer(answer: Answer) -> None:
    """No 5xx; an error is the Salesforce error list and changed nothing."""
    assert answer.status < 500, answer.content[:500]
    if answer.status < 400 or answer.head:
        return
    body = json.loads(answer.content)
    assert isinstance(body, list), body
    assert body, body
    for error in body:
        assert isinstance(error.get("message"), str), body
        assert isinstance(error.get("errorCode"), str), body
    assert answer.changed is False, answer.content[:500]


@pytest.fixture
def api(admin: User) -> Api:
    token = AccessToken(user=admin, scope="api", expires=timezone.now() + timedelta(hours=1))
    set_token_value(token, "00Dfuzz!token")
    token.save()
    account = Account.objects.create(org=admin.org, owner=admin, name="Fuzz", external_id="k1")
    Contact.objects.create(org=admin.org, owner=admin, last_name="Fuzz", account=account)
    Lead.objects.create(org=admin.org, owner=admin, last_name="Fuzz", company="Fuzz Co")
    return Api("00Dfuzz!token")


def test_generated_soql_and_query_options(api: Api) -> None:
    @FUZZ
    @given(query=queries, options=query_options, everything=st.booleans())
    def check(query: str, options: str, everything: bool) -> None:
        path = f"/{'queryAll' if everything else 'query'}/?q={quote(query, safe='')}"

        assert_salesforce_answer(api.send("GET", path, **{"Sforce-Query-Options": options}))

    check()


def test_generated_record_creates_and_updates(api: Api) -> None:
    record_ids = {
        "Contact": Contact.objects.get().pk,
        "Account": Account.objects.get().pk,
        "Lead": Lead.objects.get().pk,
    }
    names = st.one_of(st.sampled_from(OBJECTS), text.map(lambda t: quote(t, safe="") or "x"))

    @FUZZ
    @given(name=names, update=st.booleans(), data=st.data())
    def check(name: str, update: bool, data: st.DataObject) -> None:
        body = data.draw(body_for(name), label="body")
        record_id = record_ids.get(name, "003000000000000AAA")
        method, path = (
            ("PATCH", f"/sobjects/{name}/{record_id}") if update else ("POST", f"/sobjects/{name}/")
        )

        assert_salesforce_answer(api.send(method, path, body))

    check()


upsert_keys = st.one_of(
    text, st.sampled_from(["k1", "k" * 80, "k" * 81, "k" * 5000, "a/b", " k1 ", "K1", "a\x00b"])
)


def test_generated_upserts(api: Api) -> None:
    @FUZZ
    @given(
        name=st.sampled_from(OBJECTS),
        field=st.one_of(st.just("External_Id__c"), st.sampled_from(FIELDS)),
        key=upsert_keys,
        data=st.data(),
    )
    def check(name: str, field: str, key: str, data: st.DataObject) -> None:
        body = data.draw(body_for(name), label="body")
        path = f"/sobjects/{name}/{field}/{quote(key, safe='') or 'x'}"

        assert_salesforce_answer(api.send("PATCH", path, body))

    check()


@st.composite
def composite_item(draw: Callable[..., Any]) -> Any:
    kind = draw(st.one_of(st.sampled_from(OBJECTS), text))
    if draw(st.integers(0, 5)) == 0:
        return draw(json_value)
    return {"attributes": {"type": kind}, **draw(record_of(kind))}


def test_generated_composite_requests(api: Api) -> None:
    payload = st.one_of(
        st.builds(
            lambda records, all_or_none: {"allOrNone": all_or_none, "records": records},
            st.lists(composite_item(), max_size=4),
            json_scalar,
        ).map(body_of),
        json_body,
    )

    @FUZZ
    @given(body=payload, method=st.sampled_from(["POST", "PATCH"]))
    def check(body: bytes, method: str) -> None:
        answer = api.send(method, "/composite/sobjects", body)

        assert_salesforce_answer(answer)
        if answer.status == 200 and not any(r["success"] for r in json.loads(answer.content)):
            assert answer.changed is False, answer.content[:500]

    check()


def test_generated_paths_and_headers(api: Api) -> None:
    odd = ["%00", "..", "describe", "a" * 300, "003" + "0" * 15, "%E2%80%AE", "%0A"]
    segment = st.one_of(
        st.sampled_from(OBJECTS), st.sampled_from(odd), text.map(lambda t: quote(t, safe=""))
    )
    header = st.sampled_from(
        [
            "Accept",
            "Content-Type",
            "Sforce-Auto-Assign",
            "If-Modified-Since",
            "X-PrettyPrint",
            "Sforce-Call-Options",
            "Accept-Encoding",
        ]
    )

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]),
        segments=st.lists(segment, min_size=1, max_size=3),
        headers=st.dictionaries(
            header,
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
            max_size=3,
        ),
        body=json_body,
    )
    def check(method: str, segments: list[str], headers: dict[str, str], body: bytes) -> None:
        path = "/sobjects/" + "/".join(s or "x" for s in segments)

        answer = api.send(method, path, body, **headers)

        assert_salesforce_answer(answer)

    check()
