"""`tandem de import FILE --account ... --de ...`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension, DataImport
from tests.engagement.data.conftest import run_import, snapshot

pytestmark = pytest.mark.django_db

HEADER = "SubscriberKey,Email,FirstName,Age\r\n"


def tandem_de_import(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["de", "import", str(path), "--account", "Northwind", "--de", "Subscribers", *extra]
    )
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def existing(admin: User, subscribers: DataExtension) -> dict[str, dict[str, str]]:
    run_import(admin, subscribers, HEADER + "k0,zero@example.com,Zed,40\r\n")
    return snapshot(subscribers)


def test_imports_the_file_and_says_how_many_rows(
    subscribers: DataExtension, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "k1,a@example.com,A,1\r\nk2,b@example.com,B,2\r\n")

    code, output = tandem_de_import(path)

    assert code == 0
    assert "2 rows added, 0 updated, 0 rejected" in output
    assert set(snapshot(subscribers)) == {"k1", "k2"}


def test_rejected_rows_exit_2_with_a_report_and_the_good_rows_in(
    subscribers: DataExtension, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "k1,a@example.com,A,1\r\nk2,bad,B,2\r\n")

    code, output = tandem_de_import(path)

    assert code == 2
    assert "1 row rejected; the good rows were imported" in output
    report = (tmp_path / "people.csv.errors.csv").read_text()
    assert "Email: 'bad' is not a valid email address" in report
    assert set(snapshot(subscribers)) == {"k1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "Nobody", "--de", "Subscribers"], "No account 'Nobody'"),
        (
            ["--account", "Northwind", "--de", "Nope"],
            "No data extension named 'Nope' in account 'Northwind'.",
        ),
    ],
)
def test_unknown_account_or_data_extension_exits_2(
    existing: dict[str, dict[str, str]],
    subscribers: DataExtension,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "k1,a@example.com,A,1\r\n")

    result = CliRunner().invoke(app, ["de", "import", str(path), *args])

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert snapshot(subscribers) == existing


def test_missing_file_exits_2(
    existing: dict[str, dict[str, str]], subscribers: DataExtension, tmp_path: Path
) -> None:
    code, output = tandem_de_import(tmp_path / "nope.csv")

    assert (code, "nope.csv: no such file." in output) == (2, True)
    assert snapshot(subscribers) == existing


def test_wrong_encoding_exits_2_and_changes_nothing(
    existing: dict[str, dict[str, str]], subscribers: DataExtension, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes((HEADER + "k1,a@example.com,Zoé,1\r\n").encode("latin-1"))

    code, output = tandem_de_import(path)

    assert code == 2
    assert "The file is not UTF-8 text: byte 55 (line 2) is 0xE9" in output
    assert "Nothing was imported." in output
    assert snapshot(subscribers) == existing
    assert DataImport.objects.count() == 1


def test_file_above_the_cap_exits_2_and_changes_nothing(
    existing: dict[str, dict[str, str]],
    subscribers: DataExtension,
    tmp_path: Path,
    settings: object,
) -> None:
    settings.ENGAGEMENT_IMPORT_MAX_BYTES = 16  # type: ignore[attr-defined]
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "k1,a@example.com,A,1\r\n")

    code, output = tandem_de_import(path)

    assert code == 2
    assert "imports are limited to" in output
    assert snapshot(subscribers) == existing
    assert DataImport.objects.count() == 1


def test_bad_header_exits_2_and_changes_nothing(
    existing: dict[str, dict[str, str]], subscribers: DataExtension, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Who,Email\r\nk1,a@example.com\r\n")

    code, output = tandem_de_import(path)

    assert code == 2
    assert "Column 'Who' is not a field of 'Subscribers'" in output
    assert snapshot(subscribers) == existing


def test_resume_finishes_an_import_left_running(subscribers: DataExtension, admin: User) -> None:
    from tandem.engagement.data.imports import data_import_claim, data_import_create
    from tests.engagement.data.conftest import as_file

    created = data_import_create(
        actor=admin,
        data_extension=subscribers,
        source_name="x.csv",
        data=as_file(HEADER + "k1,a@example.com,A,1\r\n"),
    )
    data_import_claim(data_import_id=created.pk)  # a worker took it, then died

    result = CliRunner().invoke(app, ["de", "resume", str(created.pk)])

    assert result.exit_code == 0
    assert "1 row added" in result.output
    assert set(snapshot(subscribers)) == {"k1"}


def test_resume_of_a_finished_import_exits_2(subscribers: DataExtension, admin: User) -> None:
    finished = run_import(admin, subscribers, HEADER + "k1,a@example.com,A,1\r\n")

    result = CliRunner().invoke(app, ["de", "resume", str(finished.pk)])

    assert result.exit_code == 2
    assert "is done: nothing to resume" in result.output
    assert set(snapshot(subscribers)) == {"k1"}
