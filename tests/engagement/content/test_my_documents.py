"""My Documents and the naming rule of content_file_save (used for the migration CSVs)."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.content.models import ContentFile, Folder
from tandem.engagement.content.services import (
    ContentError,
    content_file_save,
    distinct_name,
    folder_create,
    my_documents_get_or_create,
)

pytestmark = pytest.mark.django_db


def test_my_documents_is_created_on_first_use(admin: User) -> None:
    assert not Folder.objects.exists()

    folder = my_documents_get_or_create(user=admin)

    assert (folder.name, folder.owner, folder.account) == ("My Documents", admin, admin.account)


def test_my_documents_is_one_folder_per_user(admin: User, marketer: User) -> None:
    first = my_documents_get_or_create(user=admin)

    again = my_documents_get_or_create(user=admin)
    other = my_documents_get_or_create(user=marketer)

    assert again == first
    assert other != first
    assert Folder.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("2026-01-31_migrationsuccess.csv", 1, "2026-01-31_migrationsuccess.csv"),
        ("2026-01-31_migrationsuccess.csv", 2, "2026-01-31_migrationsuccess-2.csv"),
        ("2026-01-31_migrationfailures.csv", 11, "2026-01-31_migrationfailures-11.csv"),
        ("archive.tar.gz", 2, "archive.tar-2.gz"),
        ("README", 3, "README-3"),
        (".env", 2, ".env-2"),
    ],
)
def test_distinct_name(name: str, number: int, expected: str) -> None:
    assert distinct_name(name, number) == expected


def test_second_file_of_the_same_name_gets_a_distinct_name(admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)
    name = "2026-11-29_migrationsuccess.csv"

    first = content_file_save(owner=admin, folder=folder, name=name, data=b"first\r\n")
    second = content_file_save(owner=admin, folder=folder, name=name, data=b"second\r\n")
    third = content_file_save(owner=admin, folder=folder, name=name, data=b"third\r\n")

    assert [first.name, second.name, third.name] == [
        "2026-11-29_migrationsuccess.csv",
        "2026-11-29_migrationsuccess-2.csv",
        "2026-11-29_migrationsuccess-3.csv",
    ]


def test_saving_never_overwrites_an_existing_file(admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)
    first = content_file_save(owner=admin, folder=folder, name="a.csv", data=b"first")

    content_file_save(owner=admin, folder=folder, name="A.CSV", data=b"second")

    first.refresh_from_db()
    with first.blob.open("rb") as stored:
        assert stored.read() == b"first"
    assert ContentFile.objects.filter(folder=folder).count() == 2


def test_a_gap_in_the_numbers_is_filled_first(admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)
    for data in (b"1", b"2", b"3"):
        content_file_save(owner=admin, folder=folder, name="r.csv", data=data)
    ContentFile.objects.get(name="r-2.csv").delete()

    again = content_file_save(owner=admin, folder=folder, name="r.csv", data=b"4")

    assert again.name == "r-2.csv"


def test_saved_file_keeps_size_type_and_owner(admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)

    saved = content_file_save(owner=admin, folder=folder, name="x.csv", data=b"a,b\r\n")

    assert (saved.size, saved.content_type, saved.created_by) == (5, "text/csv", admin)


def test_cannot_save_into_another_users_my_documents(admin: User, marketer: User) -> None:
    folder = my_documents_get_or_create(user=marketer)

    with pytest.raises(ContentError):
        content_file_save(owner=admin, folder=folder, name="x.csv", data=b"x")

    assert not ContentFile.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "a/b.csv", "a\\b", "tab\there", "x" * 201])
def test_bad_names_are_refused_and_nothing_is_stored(admin: User, name: str) -> None:
    folder = my_documents_get_or_create(user=admin)

    with pytest.raises(ContentError):
        content_file_save(owner=admin, folder=folder, name=name, data=b"x")

    assert not ContentFile.objects.exists()


def test_a_shared_folder_cannot_be_named_my_documents(admin: User) -> None:
    with pytest.raises(ContentError, match="already exists"):
        folder_create(actor=admin, name="my documents")

    assert not Folder.objects.exists()
