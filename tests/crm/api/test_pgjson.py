"""On PostgreSQL the database builds each record's JSON: it must equal the Python-built one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.api import pgjson
from tandem.crm.api.serialize import query_records
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.models import Contact
from tandem.crm.soql import SoqlError, parse
from tandem.crm.soql.bind import bind
from tandem.crm.soql.orm import page_rows
from tests.crm.soql.test_orm_matches_reference import TODAY, queries, rows  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not pgjson.is_available(), reason="PostgreSQL builds JSON; SQLite does not"),
]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=queries(), size=st.integers(1, 60))
def test_database_json_equals_python_json(rows: Any, text: str, size: int) -> None:  # noqa: F811
    try:
        query = bind(parse(text), REGISTRY, today=TODAY)
    except SoqlError:
        return
    if query.is_count:
        return
    queryset = Contact.objects.all()

    built = pgjson.page_json(query, queryset, version="59.0", position=0, size=size)
    python = page_rows(query, queryset, position=0, size=size, text_datetimes=True)

    assert [pk for pk, _ in built] == [row[0] for row in python]
    assert [json.loads(record) for _, record in built] == query_records(query, python, "59.0")
