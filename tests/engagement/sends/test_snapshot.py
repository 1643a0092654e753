"""The audience snapshot's set-based SQL: de-duplication, suppressions and the address check
agree with `address_problem` on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends import claims, snapshot
from tandem.engagement.sends.models import (
    RecordStatus,
    SendBatch,
    SendEvent,
    SendRecord,
    Suppression,
)
from tandem.engagement.sends.snapshot import address_problem
from tandem.engagement.studio.models import Email
from tests.engagement.sends.helpers import running_send

LABEL_63 = "l" * 63
TRICKY = [
    "plain@example.test",
    "o'brien@example.test",
    "a!#$%&'*+/=?^_`{|}~-z@example.test",
    "dots.in..local.@example.test",
    "a@b--c.example",
    "a@xn--bcher-kva.example",
    "a@1.2",
    "a@B.EXAMPLE",
    f"a@{LABEL_63}.example",
    f"a@{LABEL_63}l.example",
    f"a@{'d' * 40}.{'e' * 40}.example",  # valid, its domain longer than 63 characters
    f"a@{'d' * 40}.{'e' * 64}.example",
    "",
    "no-at-sign.example",
    "@example.test",
    "a@example",
    "a@@example.test",
    "a@b@example.test",
    "a@-b.example",
    "a@b-.example",
    "a@b..example",
    "a@.b.example",
    "a@b.example.",
    "a@b.example-",
    "a@b_c.example",
    "a@b!c.example",
    "a b@example.test",
    "a\tb@example.test",
    "a@example.test\n",
    "jürgen@example.test",
    "a@bücher.example",
    "a@\uff45xample.test",  # fullwidth e
    "a@\u212a.example",  # Kelvin sign, a K only when case is folded
    "\u0130@example.test",
    "a@b.c\u0000",
    "x" * 250 + "@example.test",
]


def _audience_of(account: Account, addresses: list[str]) -> DataExtension:
    audience = DataExtension.objects.create(
        account=account,
        name="Tricky",
        is_sendable=True,
        subscriber_key_field="SubscriberKey",
        email_field="EmailAddress",
    )
    for ordinal, name in enumerate(["SubscriberKey", "EmailAddress", "FirstName"]):
        audience.fields.create(name=name, ordinal=ordinal)
    DataExtensionRow.objects.bulk_create(
        DataExtensionRow(
            data_extension=audience,
            key=f"K{i:03d}",
            values={"SubscriberKey": f"K{i:03d}", "EmailAddress": address, "FirstName": "X"},
        )
        for i, address in enumerate(addresses)
    )
    return audience


def _stored(address: str) -> str:
    """The address as the snapshot copies it (trimmed of spaces, at most 254 characters)."""
    return address.strip(" ")[:254]


def test_invalid_addresses_fail_with_exactly_address_problems_text(
    marketer: User, email: Email, django_capture_on_commit_callbacks: Any
) -> None:
    addresses = [a for a in TRICKY if "\u0000" not in a or connection.vendor == "sqlite"]
    assert marketer.account is not None
    audience = _audience_of(marketer.account, addresses)

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    records = {r.subscriber_key: r for r in send.records.all()}
    invalid = 0
    for i, address in enumerate(addresses):
        record = records[f"K{i:03d}"]
        assert record.email == _stored(address) or "\u0000" in address
        problem = address_problem(record.email)
        invalid += bool(problem)
        expected = (RecordStatus.FAILED, problem) if problem else (RecordStatus.QUEUED, "")
        assert (record.status, record.error) == expected, address
    # Both kinds are really among them.
    assert invalid >= 24
    assert len(addresses) - invalid >= 10
    started = SendEvent.objects.get(send=send, action="send.started")
    assert started.new_value["invalid_addresses"] == invalid


def test_an_address_with_a_trailing_newline_is_invalid() -> None:
    assert address_problem("a@example.test\n") == "invalid email address 'a@example.test\\n'"
    assert address_problem("a@example.test") == ""


def _picked_by_postgres(address: str) -> bool:
    statement = (
        f"SELECT 1 FROM (SELECT CAST(%s AS TEXT) AS email) a WHERE {snapshot.POSTGRES_SUSPICIOUS}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [address, snapshot.POSTGRES_PASSES])
        return cursor.fetchone() is not None


ADDRESS_LIKE = st.one_of(
    st.from_regex(r"\A[a-z0-9.'!-]{1,6}@[a-z0-9-]{1,5}(\.[a-z0-9-]{0,5}){1,3}\Z"),
    st.text(alphabet="ab9.-_@!' \t\nü\u212a", max_size=14),
    st.builds(
        lambda local, label, tld: f"{local}@{label}.{tld}",
        st.text(alphabet="a.-+", min_size=1, max_size=3),
        st.text(alphabet="b-", min_size=60, max_size=66),
        st.sampled_from(["example", "-x", "x-", ""]),
    ),
)


@pytest.mark.django_db
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address=ADDRESS_LIKE)
def test_postgres_picks_every_address_that_address_problem_refuses(address: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's UPDATE calls address_problem itself")
    if not _picked_by_postgres(address):
        assert address_problem(address) == "", address


@pytest.mark.django_db
def test_postgres_passes_the_common_addresses_without_python() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's check only")
    for address in ["user1@example.test", "o'brien@mail-1.example.co.uk", "a@b--c.example"]:
        assert not _picked_by_postgres(address)
    for address in [a for a in TRICKY if "\u0000" not in a and address_problem(a)]:
        assert _picked_by_postgres(address), address


def test_with_suppressions_duplicates_suppressed_and_invalid_are_all_counted(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    assert marketer.account is not None
    Suppression.objects.create(
        account=marketer.account, subscriber_key="S00003", reason="hard_bounce", detail="550 gone"
    )
    Suppression.objects.create(account=marketer.account, subscriber_key="S00007")
    # A later row of a suppressed key and one of a queued key: neither makes a second record.
    for key, address in [("S00003", "later3@example.test"), ("S00005", "later5@example.test")]:
        DataExtensionRow.objects.create(
            data_extension=audience,
            key=f"dup-{key}",
            values={"SubscriberKey": key, "EmailAddress": address, "FirstName": "Later"},
        )
    DataExtensionRow.objects.create(
        data_extension=audience,
        key="bad",
        values={"SubscriberKey": "bad", "EmailAddress": "bad@", "FirstName": "X"},
    )

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    assert (send.audience_rows, send.duplicates_skipped, send.suppressed_skipped) == (28, 2, 2)
    assert send.records.count() == 26
    bounced = send.records.get(subscriber_key="S00003")
    assert (bounced.status, bounced.error, bounced.email) == (
        RecordStatus.FAILED,
        "suppressed: hard_bounce (550 gone)",
        "user3@example.test",
    )
    assert send.records.get(subscriber_key="S00005").email == "user5@example.test"
    bad = send.records.get(subscriber_key="bad")
    assert (bad.status, bad.error) == (RecordStatus.FAILED, "invalid email address 'bad@'")
    assert send.records.filter(status=RecordStatus.QUEUED).count() == 23


def test_a_suppression_of_another_account_suppresses_nobody_here(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    other = Account.objects.create(name="Other")
    Suppression.objects.create(account=other, subscriber_key="S00004")

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    assert send.suppressed_skipped == 0
    assert send.records.get(subscriber_key="S00004").status == RecordStatus.QUEUED
    assert send.records.filter(status=RecordStatus.QUEUED).count() == 25


def test_without_suppressions_the_first_row_by_id_of_each_key_wins(
    marketer: User, email: Email, django_capture_on_commit_callbacks: Any
) -> None:
    assert marketer.account is not None
    # Keys whose byte order differs from their row order, each repeated.
    addresses = ["first-b@example.test", "first-a@example.test", "second-b@example.test"]
    audience = _audience_of(marketer.account, addresses)
    rows = list(DataExtensionRow.objects.filter(data_extension=audience).order_by("id"))
    for row, key in zip(rows, ["b", "A", "b"], strict=True):
        row.values["SubscriberKey"] = key
        row.save()

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    records = list(send.records.order_by("id").values_list("subscriber_key", "email"))
    assert records == [("b", "first-b@example.test"), ("A", "first-a@example.test")]
    assert send.duplicates_skipped == 1


def test_records_follow_their_send_and_batch_through_the_orm_without_database_constraints(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    batch = claims.batch_claim(send_id=send.id, worker="w", size=3)
    assert batch is not None
    # Outcomes name the batch that wrote them.
    claimed = [r.record_id for r in batch.recipients]
    assert SendRecord.objects.filter(id__in=claimed).update(batch_id=batch.id) == 3

    SendBatch.objects.filter(pk=batch.id).delete()

    assert send.records.count() == 25
    assert not send.records.filter(batch__isnull=False).exists()
    send.delete()
    assert not SendRecord.objects.filter(send_id=send.id).exists()
