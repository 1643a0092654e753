"""A copy of many records read by a Bulk query job: the same rows as over REST, resumable."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tandem.engagement.accounts.models import Account
from tandem.engagement.connect import bulk
from tandem.engagement.connect.models import ApiCallDay, ApiFamily, CrmConnection
from tandem.engagement.data.models import DataExtensionRow
from tandem.engagement.syncs import run
from tandem.engagement.syncs.bulk import rows_of
from tandem.engagement.syncs.models import RunOutcome, SyncSource
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.setup import source_setup
from tests.engagement.syncs.conftest import SyncCrm

FIELDS = [
    "Email",
    "FirstName",
    "LastName",
    "HasOptedOutOfEmail",
    "Birthdate",
    "Score__c",
    "SystemModstamp",
]
AWKWARD = [  # (FirstName, LastName, HasOptedOutOfEmail, Birthdate, Score__c)
    ("", "Plain", True, "1990-02-03", 0),
    (None, 'say "hi", then\r\nbye', False, None, None),
    ("Zoë 日本", "comma, inside", None, "2001-12-31", -7),
    ('"', "line\nbreak", True, None, 12345678),
    (" lead", "trail ", False, "1970-01-01", 1),
]


def contact_id(n: int) -> str:
    return f"003{n:015d}"


@pytest.fixture
def crm_contacts(legacy: CrmConnection, sync_crm: SyncCrm) -> SyncCrm:
    for n in range(1, 13):
        first, last, opted, born, score = AWKWARD[n % len(AWKWARD)]
        sync_crm.put(
            "Contact",
            contact_id(n),
            Email=f"c{n}@example.com" if n != 3 else None,
            FirstName=first,
            LastName=last,
            HasOptedOutOfEmail=opted,
            Birthdate=born,
            Score__c=score,
        )
    return sync_crm


@pytest.fixture
def source(crm_contacts: SyncCrm, account: Account) -> SyncSource:
    return source_setup(account=account, object_name="Contact", fields=FIELDS)


@pytest.fixture
def bulk_over_5(settings: Any) -> None:
    settings.SYNC_BULK_THRESHOLD = 5


def table(source: SyncSource) -> dict[str, dict[str, str]]:
    rows = DataExtensionRow.objects.filter(data_extension_id=source.data_extension_id)
    return dict(rows.values_list("key", "values"))


def first_copy_again(source: SyncSource) -> None:
    """Forget the copy: the next run is a first copy into an empty data extension."""
    DataExtensionRow.objects.filter(data_extension_id=source.data_extension_id).delete()
    SyncSource.objects.filter(pk=source.pk).update(high_water=None, copy_floor=None)


def rest_copy(source: SyncSource, settings: Any) -> dict[str, dict[str, str]]:
    threshold, settings.SYNC_BULK_THRESHOLD = settings.SYNC_BULK_THRESHOLD, 1_000_000
    first_copy_again(source)
    assert source_run(source_id=source.pk).added == 12
    settings.SYNC_BULK_THRESHOLD = threshold
    return table(source)


@pytest.mark.usefixtures("bulk_over_5")
def test_bulk_and_rest_copies_are_the_same_rows(
    source: SyncSource, crm_contacts: SyncCrm, settings: Any
) -> None:
    result = source_run(source_id=source.pk)
    assert (result.outcome, result.added) == (RunOutcome.DONE, 12)
    assert len(crm_contacts.jobs) == 1  # read by one Bulk query job
    by_bulk = table(source)
    by_rest = rest_copy(source, settings)
    assert len(crm_contacts.jobs) == 1  # the REST copy made none
    assert by_bulk == by_rest
    second = by_bulk[contact_id(1)]
    assert second["LastName"] == 'say "hi", then\r\nbye'
    assert (second["FirstName"], second["Birthdate"], second["Score__c"]) == ("", "", "")
    assert second["HasOptedOutOfEmail"] == "false"
    assert second["SystemModstamp"].endswith("+0000")  # the REST API's dateTime text
    third = by_bulk[contact_id(2)]
    assert (third["FirstName"], third["HasOptedOutOfEmail"], third["Score__c"]) == (
        "Zoë 日本",
        "",
        "-7",
    )
    assert by_bulk[contact_id(3)]["Email"] == ""


@pytest.mark.usefixtures("bulk_over_5")
def test_an_incremental_run_after_a_bulk_copy_changes_nothing(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    source_run(source_id=source.pk)
    before = table(source)
    again = source_run(source_id=source.pk)
    assert (again.outcome, again.added, again.updated, again.deleted) == (RunOutcome.DONE, 0, 0, 0)
    assert "SystemModstamp >= " in crm_contacts.soql[-1]  # the REST incremental query
    assert table(source) == before


def test_a_small_object_walks_over_rest(source: SyncSource, crm_contacts: SyncCrm) -> None:
    assert source_run(source_id=source.pk).added == 12  # the default threshold: 10,000
    assert not crm_contacts.jobs


@pytest.mark.usefixtures("bulk_over_5")
def test_a_field_with_decimals_walks_over_rest(crm_contacts: SyncCrm, account: Account) -> None:
    source = source_setup(account=account, object_name="Contact", fields=["Email", "Amount__c"])
    assert source_run(source_id=source.pk).added == 12
    assert not crm_contacts.jobs


@pytest.mark.usefixtures("bulk_over_5")
def test_bulk_calls_are_counted_as_bulk(source: SyncSource) -> None:
    source_run(source_id=source.pk)
    bulk_calls = ApiCallDay.objects.filter(api_family=ApiFamily.BULK)
    # create, poll, and the results in pages of 4: 3 pages.
    assert sum(bulk_calls.values_list("calls", flat=True)) == 5


def test_a_worker_killed_mid_copy_resumes_with_a_new_job_after_the_last_id(
    source: SyncSource, crm_contacts: SyncCrm, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.SYNC_BULK_THRESHOLD = 3  # the 4 records left are read by a Bulk job too
    applied: list[str] = []
    real, killed = run.page_apply, []

    def apply(
        source: SyncSource, token: str, rows: list[tuple[str, ...]], *a: Any, **kw: Any
    ) -> tuple[int, int]:
        if len(applied) == 8 and not killed:  # two pages of 4 committed: dies before the third
            killed.append(True)
            raise SystemExit("killed")
        applied.extend(row[0] for row in rows)
        return real(source, token, rows, *a, **kw)

    monkeypatch.setattr(run, "page_apply", apply)
    with pytest.raises(SystemExit):
        source_run(source_id=source.pk)
    source.refresh_from_db()
    assert source.copy_after_id == contact_id(8)
    assert len(table(source)) == 8
    SyncSource.objects.filter(pk=source.pk).update(lease_until=timezone.now())  # lapsed
    resumed = source_run(source_id=source.pk)
    assert (resumed.outcome, resumed.added, resumed.updated) == (RunOutcome.DONE, 4, 0)
    assert len(crm_contacts.jobs) == 2
    assert f"WHERE Id > '{contact_id(8)}'" in crm_contacts.soql[-1]
    assert sorted(applied) == sorted(crm_contacts.data["Contact"])  # each row applied once
    assert len(table(source)) == 12


@pytest.mark.usefixtures("bulk_over_5")
def test_crm_down_mid_bulk_copy_fails_then_resumes(
    source: SyncSource, crm_contacts: SyncCrm, settings: Any
) -> None:
    # queryAll, newest stamp, first REST page, describe, job create, poll, 2 pages; then down.
    crm_contacts.fail_after = 8
    failed = source_run(source_id=source.pk)
    assert failed.outcome == RunOutcome.FAILED
    assert "down" in failed.message
    source.refresh_from_db()
    assert (source.copy_after_id, source.lease_token) == (contact_id(8), "")
    assert len(table(source)) == 8
    crm_contacts.fail_after = None
    resumed = source_run(source_id=source.pk)
    assert (resumed.added, resumed.updated) == (4, 0)
    by_bulk = table(source)
    assert by_bulk == rest_copy(source, settings)


@pytest.mark.usefixtures("bulk_over_5")
def test_a_failed_bulk_job_fails_the_run_and_writes_nothing(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    crm_contacts.job_state = "Failed"
    failed = source_run(source_id=source.pk)
    assert failed.outcome == RunOutcome.FAILED
    assert "InvalidBatch : boom" in failed.message
    source.refresh_from_db()
    assert (source.outcome, source.copy_after_id, source.high_water) == ("failed", "", None)
    assert not table(source)
    crm_contacts.job_state = "JobComplete"
    assert source_run(source_id=source.pk).added == 12


def test_rows_of_takes_columns_by_name_and_converts_datetimes() -> None:
    header = ["SystemModstamp", "Email", "Id"]
    lines = [["2026-12-01T09:00:01.000Z", "a@x.test", "0031"], ["", "", "0032"]]
    kinds = {"Id": "id", "Email": "email", "SystemModstamp": "datetime"}
    rows = rows_of(header, iter(lines), ["Id", "Email", "SystemModstamp"], kinds)
    assert rows == [
        ("0031", "0031", "a@x.test", "2026-12-01T09:00:01.000+0000"),
        ("0032", "0032", "", ""),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bulk_over_5")
def test_bulk_copy_outside_a_transaction_commits_every_page(
    source: SyncSource, crm_contacts: SyncCrm, settings: Any
) -> None:
    """As a worker runs it (on PostgreSQL, pages committed by the writer thread)."""
    result = source_run(source_id=source.pk)
    assert (result.added, len(crm_contacts.jobs)) == (12, 1)
    by_bulk = table(source)
    source.refresh_from_db()
    assert (source.copy_after_id, source.rows_added) == ("", 12)
    assert by_bulk == rest_copy(source, settings)


# --- the lease while a Bulk job runs ------------------------------------------------------


@pytest.fixture
def long_job(crm_contacts: SyncCrm, monkeypatch: pytest.MonkeyPatch) -> SyncCrm:
    """A job that answers InProgress to 4 polls, the clock moving 50 s at each poll: the job
    outlives the lease (120 s) before its first result page."""
    monkeypatch.setattr(bulk.time, "sleep", lambda seconds: None)
    crm_contacts.running_polls = 4
    return crm_contacts


@pytest.mark.usefixtures("bulk_over_5")
def test_the_lease_is_renewed_while_a_bulk_job_runs(
    source: SyncSource, long_job: SyncCrm, settings: Any
) -> None:
    assert settings.SYNC_LEASE_SECONDS == 120
    claims: list[str | None] = []
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def poll() -> None:
            clock.shift(50)
            if long_job.running_polls == 0:  # the last poll: 250 s after the run began
                claims.append(run.lease_claim(source.pk))

        long_job.on_poll = poll
        result = source_run(source_id=source.pk)
    assert claims == [None]  # a second run found the lease held
    assert (result.outcome, result.added) == (RunOutcome.DONE, 12)
    assert len(table(source)) == 12


@pytest.mark.usefixtures("bulk_over_5")
def test_a_run_whose_lease_is_taken_during_the_job_stops_without_writing(
    source: SyncSource, long_job: SyncCrm
) -> None:
    taken: list[str | None] = []
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def poll() -> None:
            clock.shift(50)
            if not taken:  # the run's worker seems dead: its lease is lapsed and claimed
                SyncSource.objects.filter(pk=source.pk).update(lease_until=timezone.now())
                clock.shift(1)
                taken.append(run.lease_claim(source.pk))

        long_job.on_poll = poll
        result = source_run(source_id=source.pk)
    assert taken[0] is not None
    assert (result.outcome, result.message) == (
        RunOutcome.FAILED,
        "Another run took this source over.",
    )
    assert long_job.running_polls == 3  # it stopped at the next poll, before any page
    source.refresh_from_db()
    assert source.lease_token == taken[0]  # the other run's lease is left alone
    assert (source.copy_after_id, source.high_water, source.rows_added) == ("", None, 0)
    assert source.consecutive_failures == 0  # not the CRM's failure: no backoff
    assert not table(source)


@pytest.mark.usefixtures("bulk_over_5")
def test_a_short_lease_holds_while_a_long_bulk_job_runs(
    source: SyncSource, crm_contacts: SyncCrm, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polls grow to 5 s apart as a job runs on; a 4 s lease must still be renewed between two.
    settings.SYNC_LEASE_SECONDS = 4
    crm_contacts.running_polls = 30
    monotonic, delays, claims = [0.0], [], []
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def sleep(seconds: float) -> None:
            delays.append(seconds)
            monotonic[0] += seconds
            clock.shift(seconds)

        # The job's clock, for the bulk module only: its waits move the database's time too.
        monkeypatch.setattr(
            bulk, "time", SimpleNamespace(monotonic=lambda: monotonic[0], sleep=sleep)
        )
        crm_contacts.on_poll = lambda: claims.append(run.lease_claim(source.pk))
        result = source_run(source_id=source.pk)
    assert max(delays) == 1.0  # a quarter of the lease, where the polls would have been 5 s
    assert claims == [None] * 31  # no second run found the lease lapsed
    assert (result.outcome, result.added) == (RunOutcome.DONE, 12)
