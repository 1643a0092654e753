"""Content pages: who sees what, upload, download, rename, delete, size cap, CSV preview."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.content.models import ContentFile, Folder
from tandem.engagement.content.services import (
    content_file_save,
    folder_create,
    my_documents_get_or_create,
)
from tandem.engagement.content.storage import content_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(admin: User) -> Folder:
    return folder_create(actor=admin, name="Campaign assets")


@pytest.fixture
def report(admin: User, shared: Folder) -> ContentFile:
    return content_file_save(
        owner=admin,
        folder=shared,
        name="report.csv",
        data='name,city\r\nZoë,Zürich\r\n"Smith, J",<b>Oslo</b>\r\n'.encode(),
    )


def pages(folder: Folder, file: ContentFile) -> list[str]:
    return [
        "/email/content/",
        f"/email/content/folders/{folder.pk}/",
        f"/email/content/files/{file.pk}/",
        f"/email/content/files/{file.pk}/download/",
    ]


def test_anonymous_is_sent_to_login(shared: Folder, report: ContentFile) -> None:
    for path in pages(shared, report):
        response = Client().get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/"), path


def test_marketing_user_of_the_account_reaches_every_page(
    marketer_client: Client, shared: Folder, report: ContentFile
) -> None:
    for path in pages(shared, report):
        response = marketer_client.get(path)
        # A download streams the file until it is closed. Close the file itself: the response's
        # close() would send request_finished, which closes the test's database connection.
        for close in getattr(response, "_resource_closers", []):
            close()
        assert response.status_code == 200, path


def test_other_account_gets_404(
    outsider_client: Client, shared: Folder, report: ContentFile
) -> None:
    for path in pages(shared, report)[1:]:
        assert outsider_client.get(path).status_code == 404, path


def test_other_account_cannot_rename_or_delete(
    outsider_client: Client, report: ContentFile
) -> None:
    rename = outsider_client.post(f"/email/content/files/{report.pk}/rename/", {"name": "x.csv"})
    delete = outsider_client.post(f"/email/content/files/{report.pk}/delete/")

    assert (rename.status_code, delete.status_code) == (404, 404)
    report.refresh_from_db()
    assert report.name == "report.csv"


def test_my_documents_of_a_colleague_is_private(admin: User, marketer_client: Client) -> None:
    folder = my_documents_get_or_create(user=admin)
    private = content_file_save(owner=admin, folder=folder, name="mine.csv", data=b"a\r\n")

    assert marketer_client.get(f"/email/content/folders/{folder.pk}/").status_code == 404
    assert marketer_client.get(f"/email/content/files/{private.pk}/download/").status_code == 404


def test_opening_my_documents_creates_it(marketer_client: Client, marketer: User) -> None:
    response = marketer_client.get("/email/content/my-documents/")

    folder = Folder.objects.get(owner=marketer)
    assert response["Location"] == f"/email/content/folders/{folder.pk}/"


def test_my_documents_is_hidden_when_the_setting_is_off(
    marketer_client: Client, account: Account, marketer: User
) -> None:
    Account.objects.filter(pk=account.pk).update(my_documents_in_content=False)

    listing = marketer_client.get("/email/content/")
    opened = marketer_client.get("/email/content/my-documents/")

    assert b"My Documents" not in listing.content
    assert opened["Location"] == "/email/content/"
    assert not Folder.objects.filter(owner=marketer).exists()


def test_upload_lists_and_downloads_the_file(marketer_client: Client, shared: Folder) -> None:
    upload = SimpleUploadedFile("logo.txt", b"hello", content_type="text/plain")

    response = marketer_client.post(f"/email/content/folders/{shared.pk}/upload/", {"file": upload})

    saved = ContentFile.objects.get(folder=shared)
    assert response["Location"] == f"/email/content/folders/{shared.pk}/"
    assert b"logo.txt" in marketer_client.get(f"/email/content/folders/{shared.pk}/").content
    download = marketer_client.get(f"/email/content/files/{saved.pk}/download/")
    assert b"".join(download.streaming_content) == b"hello"
    assert 'filename="logo.txt"' in download["Content-Disposition"]


def test_upload_above_the_cap_is_refused_and_nothing_is_stored(
    marketer_client: Client, shared: Folder, settings: object
) -> None:
    settings.ENGAGEMENT_CONTENT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    upload = SimpleUploadedFile("big.bin", b"x" * 5000)

    response = marketer_client.post(f"/email/content/folders/{shared.pk}/upload/", {"file": upload})

    assert response.status_code == 200
    assert b"larger than the 1.0 KB limit" in response.content
    assert not ContentFile.objects.exists()
    assert not content_storage().exists("content")


def test_upload_without_a_file_shows_a_field_error(marketer_client: Client, shared: Folder) -> None:
    response = marketer_client.post(f"/email/content/folders/{shared.pk}/upload/", {})

    assert b"This field is required" in response.content
    assert not ContentFile.objects.exists()


def test_rename_changes_only_the_name(marketer_client: Client, report: ContentFile) -> None:
    blob = report.blob.name

    marketer_client.post(f"/email/content/files/{report.pk}/rename/", {"name": "q4.csv"})

    report.refresh_from_db()
    assert (report.name, report.blob.name) == ("q4.csv", blob)


def test_rename_to_a_taken_name_shows_an_error(
    marketer_client: Client, admin: User, shared: Folder, report: ContentFile
) -> None:
    content_file_save(owner=admin, folder=shared, name="other.csv", data=b"x")

    response = marketer_client.post(
        f"/email/content/files/{report.pk}/rename/", {"name": "OTHER.csv"}
    )

    assert b"already exists" in response.content
    report.refresh_from_db()
    assert report.name == "report.csv"


def test_delete_removes_the_row_and_the_bytes(
    marketer_client: Client, report: ContentFile, django_capture_on_commit_callbacks: object
) -> None:
    blob = report.blob.name

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        marketer_client.post(f"/email/content/files/{report.pk}/delete/")

    assert not ContentFile.objects.exists()
    assert not content_storage().exists(blob)


def test_csv_preview_shows_a_table_with_escaped_cells(
    marketer_client: Client, report: ContentFile
) -> None:
    response = marketer_client.get(f"/email/content/files/{report.pk}/")

    html = response.content.decode()
    assert "<th>name</th><th>city</th>" in html
    assert "<td>Smith, J</td><td>&lt;b&gt;Oslo&lt;/b&gt;</td>" in html
    assert "<td>Zoë</td><td>Zürich</td>" in html


def test_csv_preview_of_a_non_utf8_file_says_so(
    marketer_client: Client, admin: User, shared: Folder
) -> None:
    latin = content_file_save(
        owner=admin, folder=shared, name="l.csv", data="a\r\né\r\n".encode("latin-1")
    )

    response = marketer_client.get(f"/email/content/files/{latin.pk}/")

    assert b"The file is not UTF-8" in response.content


def test_folder_with_files_cannot_be_deleted(
    marketer_client: Client, shared: Folder, report: ContentFile
) -> None:
    marketer_client.post(f"/email/content/folders/{shared.pk}/delete/")

    assert Folder.objects.filter(pk=shared.pk).exists()


def test_new_folder_with_a_taken_name_shows_an_error(
    marketer_client: Client, shared: Folder
) -> None:
    response = marketer_client.post("/email/content/folders/new/", {"name": "campaign ASSETS"})

    assert b"already exists" in response.content
    assert Folder.objects.count() == 1
