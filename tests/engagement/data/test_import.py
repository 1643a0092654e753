"""CSV import: good rows in, every bad row reported, a bad file changes nothing."""

from __future__ import annotations

import csv
import io

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.data.imports import (
    ImportFileError,
    data_import_create,
    data_import_error_report,
    data_import_run,
    import_size_check,
)
from tandem.engagement.data.models import DataExtension, DataExtensionRow, DataImport
from tests.engagement.data.conftest import as_file, run_import, snapshot

pytestmark = pytest.mark.django_db

HEADER = "SubscriberKey,Email,FirstName,Age\r\n"


@pytest.fixture
def existing(admin: User, subscribers: DataExtension) -> dict[str, dict[str, str]]:
    run_import(admin, subscribers, HEADER + "k0,zero@example.com,Zed,40\r\n")
    return snapshot(subscribers)


def test_good_file_adds_every_row(admin: User, subscribers: DataExtension) -> None:
    finished = run_import(
        admin,
        subscribers,
        HEADER + 'k1,ann@example.com,"Ann, the first",31\r\nk2,bob@example.com,"Bob ""B""",\r\n',
    )

    assert (finished.status, finished.inserted_rows, finished.error_rows) == ("done", 2, 0)
    assert snapshot(subscribers) == {
        "k1": {
            "SubscriberKey": "k1",
            "Email": "ann@example.com",
            "FirstName": "Ann, the first",
            "Age": "31",
        },
        "k2": {
            "SubscriberKey": "k2",
            "Email": "bob@example.com",
            "FirstName": 'Bob "B"',
            "Age": "",
        },
    }


def test_header_is_matched_ignoring_case_and_order(admin: User, subscribers: DataExtension) -> None:
    run_import(admin, subscribers, "email,subscriberkey\nann@example.com,k1\n")

    assert snapshot(subscribers)["k1"]["Email"] == "ann@example.com"


def test_utf8_bom_and_non_ascii_text_are_read(admin: User, subscribers: DataExtension) -> None:
    run_import(
        admin, subscribers, ("\ufeff" + HEADER + "k1,zoe@example.com,Zoë 東京,1\r\n").encode()
    )

    assert snapshot(subscribers)["k1"]["FirstName"] == "Zoë 東京"


def test_quoted_newline_stays_inside_the_value(admin: User, subscribers: DataExtension) -> None:
    run_import(admin, subscribers, HEADER + 'k1,ann@example.com,"two\r\nlines",1\r\n')

    assert snapshot(subscribers)["k1"]["FirstName"] == "two\r\nlines"


def test_wrong_encoding_is_a_clear_error_and_changes_nothing(
    admin: User, subscribers: DataExtension, existing: dict[str, dict[str, str]]
) -> None:
    latin1 = (HEADER + "k1,ann@example.com,José,3\r\n").encode("latin-1")

    with pytest.raises(ImportFileError, match=r"not UTF-8 text: byte \d+ \(line 2\) is 0xE9"):
        data_import_create(
            actor=admin, data_extension=subscribers, source_name="x.csv", data=as_file(latin1)
        )

    assert snapshot(subscribers) == existing
    assert DataImport.objects.count() == 1  # only the fixture's


def test_utf16_file_is_refused(admin: User, subscribers: DataExtension) -> None:
    with pytest.raises(ImportFileError, match="not UTF-8"):
        data_import_create(
            actor=admin,
            data_extension=subscribers,
            source_name="x.csv",
            data=as_file((HEADER + "k1,a@example.com,A,1\r\n").encode("utf-16")),
        )

    assert not DataExtensionRow.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Nickname,Email\r\nk1,a@example.com\r\n", "Column 'Nickname' is not a field"),
        (
            "Email,FirstName\r\na@example.com,A\r\n",
            "Required column(s) missing from the header: SubscriberKey",
        ),
        ("SubscriberKey,Email,email\r\nk,a@example.com,b@example.com\r\n", "appears twice"),
        ("SubscriberKey,Email,\r\nk,a@example.com,\r\n", "Column 3 of the header has no name."),
    ],
)
def test_bad_header_is_refused_and_changes_nothing(
    admin: User,
    subscribers: DataExtension,
    existing: dict[str, dict[str, str]],
    text: str,
    message: str,
) -> None:
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data_import_create(
            actor=admin, data_extension=subscribers, source_name="x.csv", data=as_file(text)
        )

    assert snapshot(subscribers) == existing
    assert DataImport.objects.count() == 1


def test_a_2_gb_file_is_refused_by_size_before_reading() -> None:
    with pytest.raises(
        ImportFileError, match=r"The file is 2,048 MB; imports are limited to 200 MB"
    ):
        import_size_check(2 * 1024**3)


def test_file_above_the_cap_changes_nothing(
    admin: User, subscribers: DataExtension, settings: object
) -> None:
    settings.ENGAGEMENT_IMPORT_MAX_BYTES = 10  # type: ignore[attr-defined]

    with pytest.raises(ImportFileError, match="limited to"):
        data_import_create(
            actor=admin,
            data_extension=subscribers,
            source_name="x.csv",
            data=as_file(HEADER + "k1,a@example.com,A,1\r\n"),
        )

    assert not DataImport.objects.exists()
    assert not DataExtensionRow.objects.exists()


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("k9,ann@example.com,Ann\r\n", "has 3 values; the header has 4"),
        ("k9,ann@example.com,Ann,1,extra\r\n", "has 5 values; the header has 4"),
        ("k9,ann@example.com,Ann,forty\r\n", "Age: 'forty' is not a number"),
        ("k9,not-an-address,Ann,1\r\n", "Email: 'not-an-address' is not a valid email address"),
        ("k9,,Ann,1\r\n", "Email: is required"),
        (",ann@example.com,Ann,1\r\n", "SubscriberKey: is required"),
        ("k1,dup@example.com,Dup,1\r\n", "duplicate key 'k1' (first on line 2)"),
        ("k" * 256 + ",long@example.com,L,1\r\n", "the primary key is longer than 255 characters"),
        ("k9,ann@example.com,A\x00nn,1\r\n", "FirstName: contains a NUL character"),
    ],
)
def test_a_bad_row_is_reported_and_the_good_rows_are_imported(
    admin: User,
    subscribers: DataExtension,
    existing: dict[str, dict[str, str]],
    bad_line: str,
    message: str,
) -> None:
    text = HEADER + "k1,ann@example.com,Ann,1\r\n" + bad_line + "k2,bob@example.com,Bob,2\r\n"

    finished = run_import(admin, subscribers, text)

    assert (finished.inserted_rows, finished.error_rows) == (2, 1)
    error = finished.errors.get()
    assert (error.line, message in error.message) == (3, True)
    assert snapshot(subscribers) == {
        **existing,
        "k1": {"SubscriberKey": "k1", "Email": "ann@example.com", "FirstName": "Ann", "Age": "1"},
        "k2": {"SubscriberKey": "k2", "Email": "bob@example.com", "FirstName": "Bob", "Age": "2"},
    }


def test_every_problem_of_a_row_is_listed(admin: User, subscribers: DataExtension) -> None:
    finished = run_import(admin, subscribers, HEADER + "k1,nope,Ann,old\r\n")

    assert finished.errors.get().message == (
        "Email: 'nope' is not a valid email address; Age: 'old' is not a number"
    )


def test_blank_lines_are_skipped(admin: User, subscribers: DataExtension) -> None:
    finished = run_import(admin, subscribers, HEADER + "\r\nk1,a@example.com,A,1\r\n\r\n")

    assert (finished.inserted_rows, finished.error_rows) == (1, 0)


def test_add_and_update_merges_into_an_existing_row(
    admin: User, subscribers: DataExtension, existing: dict[str, dict[str, str]]
) -> None:
    finished = run_import(admin, subscribers, "SubscriberKey,Email\r\nk0,new@example.com\r\n")

    assert (finished.inserted_rows, finished.updated_rows) == (0, 1)
    assert snapshot(subscribers)["k0"] == {**existing["k0"], "Email": "new@example.com"}


def test_add_only_rejects_an_existing_key_and_keeps_the_row(
    admin: User, subscribers: DataExtension, existing: dict[str, dict[str, str]]
) -> None:
    finished = run_import(
        admin, subscribers, "SubscriberKey,Email\r\nk0,new@example.com\r\n", mode="add_only"
    )

    assert finished.errors.get().message == "a row with key 'k0' already exists"
    assert snapshot(subscribers) == existing


def test_error_report_lists_line_key_reason_and_row(
    admin: User, subscribers: DataExtension
) -> None:
    finished = run_import(admin, subscribers, HEADER + 'k1,bad,"A, B",1\r\n')

    report = list(data_import_error_report(data_import=finished))

    assert report == [
        ["line", "key", "error", "row"],
        ["2", "", "Email: 'bad' is not a valid email address", 'k1,bad,"A, B",1'],
    ]


def test_rows_are_written_in_batches_with_progress(
    admin: User, subscribers: DataExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tandem.engagement.data.imports.BATCH_SIZE", 10)
    rows = "".join(f"k{i},u{i}@example.com,U,{i}\r\n" for i in range(25))
    created = data_import_create(
        actor=admin, data_extension=subscribers, source_name="x.csv", data=as_file(HEADER + rows)
    )
    seen: list[tuple[int, int]] = []

    data_import_run(
        data_import_id=created.pk, on_progress=lambda done, total: seen.append((done, total))
    )

    assert seen == [(10, 25), (20, 25), (25, 25)]
    assert DataExtensionRow.objects.count() == 25


def test_a_crashed_import_resumes_where_it_stopped(
    admin: User, subscribers: DataExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tandem.engagement.data.imports.BATCH_SIZE", 10)
    rows = (
        "".join(f"k{i},u{i}@example.com,U,{i}\r\n" for i in range(25))
        + "k3,dup@example.com,D,1\r\n"
    )
    created = data_import_create(
        actor=admin, data_extension=subscribers, source_name="x.csv", data=as_file(HEADER + rows)
    )

    def crash(done: int, total: int) -> None:
        if done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data_import_run(data_import_id=created.pk, on_progress=crash)
    assert data_import_run(data_import_id=created.pk) is None  # still claimed: not run twice
    finished = data_import_run(data_import_id=created.pk, resume=True)

    assert finished is not None
    assert (finished.inserted_rows, finished.error_rows, finished.status) == (25, 1, "done")
    assert "duplicate key 'k3'" in finished.errors.get().message
    assert DataExtensionRow.objects.count() == 25


def test_an_import_is_run_only_once(admin: User, subscribers: DataExtension) -> None:
    created = data_import_create(
        actor=admin,
        data_extension=subscribers,
        source_name="x.csv",
        data=as_file(HEADER + "k1,a@example.com,A,1\r\n"),
    )
    data_import_run(data_import_id=created.pk)

    assert data_import_run(data_import_id=created.pk) is None
    assert DataExtensionRow.objects.count() == 1


def test_data_extension_of_another_account_is_refused(
    outsider: User, subscribers: DataExtension
) -> None:
    with pytest.raises(ImportFileError, match="does not exist"):
        data_import_create(
            actor=outsider,
            data_extension=subscribers,
            source_name="x.csv",
            data=as_file(HEADER + "k1,a@example.com,A,1\r\n"),
        )

    assert not DataImport.objects.exists()


def test_csv_module_reads_what_the_report_writes(admin: User, subscribers: DataExtension) -> None:
    finished = run_import(admin, subscribers, HEADER + 'k1,bad,"x""y",1\r\n')
    out = io.StringIO()
    csv.writer(out).writerows(data_import_error_report(data_import=finished))

    parsed = list(csv.reader(io.StringIO(out.getvalue())))

    assert parsed[1][3] == 'k1,bad,"x""y",1'
