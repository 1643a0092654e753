"""Subscribers pages: who reaches them, creating data extensions, rows, imports through the UI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import (
    DataExtension,
    DataExtensionField,
    DataExtensionRow,
    DataImport,
)
from tandem.engagement.data.tasks import data_import_run_task
from tests.engagement.data.conftest import run_import, snapshot

pytestmark = pytest.mark.django_db

HEADER = "SubscriberKey,Email,FirstName,Age\r\n"


@pytest.fixture
def row(admin: User, subscribers: DataExtension) -> DataExtensionRow:
    run_import(
        admin, subscribers, HEADER + "k1,ann@example.com,Ann,31\r\nk2,bob@example.com,Bob,2\r\n"
    )
    return DataExtensionRow.objects.get(key="k1")


@pytest.fixture
def import_runs_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's job, done in the test's process."""
    monkeypatch.setattr(data_import_run_task, "delay", lambda pk: data_import_run_task(pk))


def pages(data_extension: DataExtension, row: DataExtensionRow) -> list[str]:
    data_import = DataImport.objects.get()
    return [
        f"/email/subscribers/{data_extension.pk}/",
        f"/email/subscribers/{data_extension.pk}/rows/new/",
        f"/email/subscribers/{data_extension.pk}/rows/{row.pk}/",
        f"/email/subscribers/{data_extension.pk}/export.csv",
        f"/email/subscribers/imports/{data_import.pk}/",
        f"/email/subscribers/imports/{data_import.pk}/errors.csv",
    ]


def test_anonymous_is_sent_to_login(subscribers: DataExtension, row: DataExtensionRow) -> None:
    for path in ["/email/subscribers/", "/email/subscribers/new/", *pages(subscribers, row)]:
        response = Client().get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/"), path


def test_marketing_user_reaches_every_page(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    for path in ["/email/subscribers/", "/email/subscribers/new/", *pages(subscribers, row)]:
        assert marketer_client.get(path).status_code == 200, path


def test_other_account_gets_404(
    outsider_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    for path in pages(subscribers, row):
        assert outsider_client.get(path).status_code == 404, path
    assert (
        b"Subscribers" not in outsider_client.get("/email/subscribers/").content.split(b"<h1>")[1]
    )


def test_other_account_cannot_change_rows_or_delete(
    outsider_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    before = snapshot(subscribers)

    responses = [
        outsider_client.post(
            f"/email/subscribers/{subscribers.pk}/rows/{row.pk}/",
            {"SubscriberKey": "k1", "Email": "x@example.com"},
        ),
        outsider_client.post(f"/email/subscribers/{subscribers.pk}/rows/{row.pk}/delete/"),
        outsider_client.post(f"/email/subscribers/{subscribers.pk}/delete/"),
        outsider_client.post(
            f"/email/subscribers/{subscribers.pk}/fields/", {"name": "X", "field_type": "Text"}
        ),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert snapshot(subscribers) == before
    assert subscribers.fields.count() == 7


def test_create_a_sendable_data_extension_with_fields(
    marketer_client: Client, account: object
) -> None:
    form = {
        "name": "Newsletter",
        "is_sendable": "on",
        "subscriber_key_field": "Id",
        "email_field": "Mail",
        "fields-TOTAL_FORMS": "3",
        "fields-INITIAL_FORMS": "0",
        "fields-0-name": "Id",
        "fields-0-field_type": "Text",
        "fields-0-is_primary_key": "on",
        "fields-1-name": "Mail",
        "fields-1-field_type": "EmailAddress",
        "fields-2-name": "",
        "fields-2-field_type": "Text",
    }

    response = marketer_client.post("/email/subscribers/new/", form)

    created = DataExtension.objects.get(name="Newsletter")
    assert response["Location"] == f"/email/subscribers/{created.pk}/"
    assert (created.is_sendable, created.subscriber_key_field, created.email_field) == (
        True,
        "Id",
        "Mail",
    )
    assert list(created.fields.values_list("name", "field_type", "is_primary_key")) == [
        ("Id", "Text", True),
        ("Mail", "EmailAddress", False),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email_field": "Id"}, "needs an EmailAddress field"),
        ({"subscriber_key_field": "Nope"}, "subscriber key field among its fields"),
        ({"fields-1-name": "id"}, "is used twice"),
        ({"fields-1-name": "9lives"}, "start with a letter"),
        ({"name": "Subscribers"}, "exists"),
    ],
)
def test_bad_definition_shows_an_error_and_creates_nothing(
    marketer_client: Client, subscribers: DataExtension, changes: dict[str, str], message: str
) -> None:
    form = {
        "name": "Newsletter",
        "is_sendable": "on",
        "subscriber_key_field": "Id",
        "email_field": "Mail",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "0",
        "fields-0-name": "Id",
        "fields-0-field_type": "Text",
        "fields-0-is_primary_key": "on",
        "fields-1-name": "Mail",
        "fields-1-field_type": "EmailAddress",
        **changes,
    }

    response = marketer_client.post("/email/subscribers/new/", form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert DataExtension.objects.count() == 1
    assert DataExtensionField.objects.count() == 7


def test_sendable_needs_an_email_address_field(
    marketer_client: Client, subscribers: DataExtension
) -> None:
    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/sendable/",
        {"is_sendable": "on", "subscriber_key_field": "SubscriberKey", "email_field": "FirstName"},
    )

    assert b"needs an EmailAddress field" in response.content
    subscribers.refresh_from_db()
    assert subscribers.email_field == "Email"


def test_new_required_field_is_refused_once_there_are_rows(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/fields/",
        {"name": "Country", "field_type": "Text", "is_required": "on"},
    )

    assert b"can be neither required nor a primary key" in response.content
    assert not subscribers.fields.filter(name="Country").exists()


def test_rows_are_listed(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    response = marketer_client.get(f"/email/subscribers/{subscribers.pk}/")

    assert b"<td>ann@example.com</td>" in response.content
    assert b"Rows (2)" in response.content


def test_edit_a_row(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/rows/{row.pk}/",
        {"SubscriberKey": "k1", "Email": "ann@new.example.com", "FirstName": "Ann", "Age": "32"},
    )

    row.refresh_from_db()
    assert (row.values["Email"], row.values["Age"]) == ("ann@new.example.com", "32")


def test_edit_with_a_bad_value_shows_the_error_and_changes_nothing(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    before = snapshot(subscribers)

    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/rows/{row.pk}/",
        {"SubscriberKey": "k1", "Email": "broken", "Age": "x"},
    )

    assert "Email: &#x27;broken&#x27; is not a valid email address" in response.content.decode()
    assert snapshot(subscribers) == before


def test_changing_a_key_to_a_taken_one_is_refused(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    before = snapshot(subscribers)

    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/rows/{row.pk}/",
        {"SubscriberKey": "k2", "Email": "ann@example.com"},
    )

    assert b"A row with the key" in response.content
    assert snapshot(subscribers) == before


def test_add_and_delete_a_row(marketer_client: Client, subscribers: DataExtension) -> None:
    marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/rows/new/",
        {"SubscriberKey": "n1", "Email": "n@example.com"},
    )
    added = DataExtensionRow.objects.get(key="n1")

    marketer_client.post(f"/email/subscribers/{subscribers.pk}/rows/{added.pk}/delete/")

    assert not DataExtensionRow.objects.exists()


def test_import_through_the_page_shows_progress_and_errors(
    marketer_client: Client,
    subscribers: DataExtension,
    import_runs_now: None,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    upload = SimpleUploadedFile(
        "people.csv", (HEADER + "k1,a@example.com,A,1\r\nk2,bad,B,2\r\n").encode()
    )

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        response = marketer_client.post(
            f"/email/subscribers/{subscribers.pk}/import/",
            {"mode": "add_and_update", "file": upload},
        )
    page = marketer_client.get(response["Location"])

    data_import = DataImport.objects.get()
    assert response["Location"] == f"/email/subscribers/imports/{data_import.pk}/"
    assert b"2 of 2 rows (100%)" in page.content
    assert b"1 added" in page.content
    assert b"Download Error Report" in page.content
    report = marketer_client.get(f"/email/subscribers/imports/{data_import.pk}/errors.csv")
    assert b"Email: 'bad' is not a valid email address" in b"".join(report.streaming_content)


def test_running_import_page_refreshes_itself(
    marketer_client: Client, subscribers: DataExtension, marketer: User
) -> None:
    running = DataImport.objects.create(
        data_extension=subscribers,
        source_name="x.csv",
        source_blob="x",
        size=1,
        total_rows=10,
        processed_rows=4,
        status="running",
    )

    page = marketer_client.get(f"/email/subscribers/imports/{running.pk}/")

    assert b'http-equiv="refresh"' in page.content
    assert b"4 of 10 rows (40%)" in page.content


def test_import_of_a_file_in_the_wrong_encoding_shows_a_form_error(
    marketer_client: Client, subscribers: DataExtension
) -> None:
    upload = SimpleUploadedFile(
        "people.csv", (HEADER + "k1,a@example.com,Zoé,1\r\n").encode("cp1252")
    )

    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/import/", {"mode": "add_and_update", "file": upload}
    )

    assert response.status_code == 200
    assert b"The file is not UTF-8 text" in response.content
    assert not DataImport.objects.exists()
    assert not DataExtensionRow.objects.exists()


def test_import_above_the_size_cap_is_refused_before_storing(
    marketer_client: Client, subscribers: DataExtension, settings: object
) -> None:
    settings.ENGAGEMENT_IMPORT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    upload = SimpleUploadedFile("people.csv", (HEADER + "k1,a@example.com,A,1\r\n" * 100).encode())

    response = marketer_client.post(
        f"/email/subscribers/{subscribers.pk}/import/", {"mode": "add_and_update", "file": upload}
    )

    assert b"larger than the 1.0 KB limit for imports" in response.content
    assert not DataImport.objects.exists()
    assert not DataExtensionRow.objects.exists()


def test_delete_a_data_extension(
    marketer_client: Client, subscribers: DataExtension, row: DataExtensionRow
) -> None:
    response = marketer_client.post(f"/email/subscribers/{subscribers.pk}/delete/")

    assert response["Location"] == "/email/subscribers/"
    assert not DataExtension.objects.exists()
    assert not DataExtensionRow.objects.exists()


def test_a_data_extension_in_use_is_kept_with_a_message(
    marketer_client: Client,
    subscribers: DataExtension,
    row: DataExtensionRow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db.models import ProtectedError

    def protected(self: DataExtension) -> None:
        raise ProtectedError("in use", {DataExtensionField(pk=1, name="stand-in for a send")})

    monkeypatch.setattr(DataExtension, "delete", protected)

    response = marketer_client.post(f"/email/subscribers/{subscribers.pk}/delete/", follow=True)

    assert b"is used by data extension fields: delete those first." in response.content
    assert DataExtensionRow.objects.count() == 2
