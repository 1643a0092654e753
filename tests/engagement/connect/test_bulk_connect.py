"""Connect's Bulk API use: a campaign over CONNECT_BULK_AUDIENCE_THRESHOLD members read by a
query job (the same people as over REST), a write-back of CONNECT_BULK_WRITEBACK_THRESHOLD
results or more sent as one upsert job by tracking key, and the calls counted by API family."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app as cli
from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import audiences, bulk
from tandem.engagement.connect.audiences import (
    CAMPAIGN_MEMBERS,
    audience_materialize,
    audience_read,
)
from tandem.engagement.connect.client import ApiUsage, CrmError, CrmResult, CrmToken
from tandem.engagement.connect.models import (
    ApiCallDay,
    AudienceState,
    ConnectionState,
    CrmAudience,
    CrmConnection,
    EmailResultLink,
)
from tandem.engagement.connect.tokens import tokens_forget
from tandem.engagement.connect.writeback import (
    IER,
    TRACKING_KEY,
    send_results_write,
    tracking_write,
)
from tandem.engagement.data.models import DataExtensionRow
from tandem.engagement.sends.models import Send, SendRecord
from tandem.engagement.studio.models import Email
from tests.engagement.connect import test_audiences
from tests.engagement.connect.conftest import FakeCrm
from tests.engagement.connect.test_audiences import C1, C2, CAMPAIGN, L1, begin, member, scheduled
from tests.engagement.connect.test_pages import URL
from tests.engagement.connect.test_writeback import completed_send

pytestmark = pytest.mark.usefixtures("legacy")

queued = test_audiences.queued
C3 = "003000000000003AAA"
MEMBER_COLUMNS = [c.strip() for c in CAMPAIGN_MEMBERS.split(" FROM ")[0][7:].split(",")]


def flat(record: dict[str, Any]) -> dict[str, str]:
    """A REST record as a row of the CRM's Bulk result CSV."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    row = {}
    for column in MEMBER_COLUMNS:
        value: Any = record
        for part in column.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        row[column] = text(value)
    return row


@dataclass
class BothApisCrm(FakeCrm):
    """A CRM answering one campaign over REST (pages of `page`) and over the Bulk API, and
    keeping IndividualEmailResults by tracking key whichever API writes them."""

    members: list[dict[str, Any]] = field(default_factory=list)
    page: int = 2
    job_state: str = "JobComplete"
    calls: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    iers: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload: str = ""
    failing_key: str = ""
    lose_results: bool = False

    def api_calls(self) -> list[str]:
        """The REST and Bulk calls, without the logins."""
        return [call for call in self.calls if call.startswith(("rest", "bulk"))]

    def _result(self, data: Any) -> CrmResult:
        return CrmResult(data, ApiUsage(7, 15000))

    def _rest_page(self, start: int) -> CrmResult:
        rows = self.members[start : start + self.page]
        done = start + self.page >= len(self.members)
        return self._result(
            {
                "totalSize": len(self.members),
                "done": done,
                "records": rows,
                "nextRecordsUrl": None if done else f"/query/01g-{start + self.page}",
            }
        )

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        self.calls.append("rest query")
        return self._rest_page(0)

    def query_more(self, *, token: CrmToken, next_url: str) -> CrmResult:
        self.calls.append("rest query_more")
        return self._rest_page(int(next_url.rsplit("-", 1)[1]))

    def composite_create(self, *, token: CrmToken, records: list[dict[str, Any]]) -> CrmResult:
        self.calls.append("rest composite")
        answers = []
        for record in records:
            key = record[TRACKING_KEY]
            self.iers[key] = {**record, "Id": f"a0E{len(self.iers):015d}"}
            answers.append({"id": self.iers[key]["Id"], "success": True, "errors": []})
        return self._result(answers)

    # --- Bulk API ---

    def _bulk(self, token: CrmToken, what: str) -> None:
        self.calls.append(f"bulk {what}")
        self.tokens.add(token.access_token)

    def bulk_query_create(self, *, token: CrmToken, soql: str) -> CrmResult:
        self._bulk(token, "query")
        return self._result({"id": "750000000000002AAA", "state": "UploadComplete"})

    def bulk_job_get(self, *, token: CrmToken, kind: str, job_id: str) -> CrmResult:
        self._bulk(token, "poll")
        return self._result({"id": job_id, "state": self.job_state})

    def bulk_query_page(
        self, *, token: CrmToken, job_id: str, locator: str | None, max_records: int | None
    ) -> CrmResult:
        self._bulk(token, "page")
        return self._result(bulk.Page([flat(m) for m in self.members], None))

    def bulk_upsert_create(self, *, token: CrmToken, sobject: str, field: str) -> CrmResult:
        self._bulk(token, f"upsert {sobject} by {field}")
        return self._result({"id": "750000000000003AAA", "state": "Open"})

    def bulk_upload(self, *, token: CrmToken, job_id: str, body: str) -> CrmResult:
        self._bulk(token, "upload")
        self.upload = body
        return self._result({})

    def bulk_close(self, *, token: CrmToken, job_id: str) -> CrmResult:
        self._bulk(token, "close")
        return self._result({})

    def bulk_ingest_results(self, *, token: CrmToken, job_id: str, kind: str) -> CrmResult:
        self._bulk(token, kind)
        rows = bulk.read_csv(self.upload)
        if kind == "failedResults":
            bad = [r for r in rows if r[TRACKING_KEY] == self.failing_key]
            return self._result([{"sf__Id": "", "sf__Error": "NOPE:no --", **r} for r in bad])
        done = []
        for row in rows:
            if row[TRACKING_KEY] == self.failing_key:
                continue
            known = self.iers.get(row[TRACKING_KEY])
            ier = {
                **(known or {}),
                **row,
                "Id": known["Id"] if known else f"a0E{len(self.iers):015d}",
            }
            self.iers[row[TRACKING_KEY]] = ier
            done.append({"sf__Id": ier["Id"], "sf__Created": str(known is None).lower(), **row})
        if self.lose_results:
            raise CrmError("unreachable", "the CRM's answer was lost (ReadError)")
        return self._result(done)


@pytest.fixture
def fake(settings: Any, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch) -> BothApisCrm:
    both = BothApisCrm(users=crm.users, passwords=crm.passwords)
    both.members = [
        member(C1, "ann@acme.test", "Ann"),
        member(C2, "bob@acme.test", "Bob", opted_out=True),
        member(L1, "lee@lead.test", "Lee"),
        member(C3, "", "Cy"),
        member(C1, "ann@acme.test", "Ann"),
    ]
    settings.CONNECT_CRM_CLIENT = lambda: both
    monkeypatch.setattr(bulk.time, "sleep", lambda seconds: None)
    return both


def campaign_send(account: Account, email: Email) -> Send:
    return Send.objects.create(
        account=account, name="Big", email=email, audience_kind="campaign", audience_ref=CAMPAIGN
    )


# --- Audiences ------------------------------------------------------------------------------


def test_a_campaign_over_the_threshold_is_read_by_bulk_with_the_same_people_as_rest(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    send = campaign_send(account, email)
    over_rest = audience_read(send)
    rest_calls, fake.calls = fake.api_calls(), []
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 4

    over_bulk = audience_read(send)

    assert over_bulk == over_rest
    assert [p.crm_id for p in over_bulk] == [C1, L1, C3, C1]  # opted-out Bob left out
    assert rest_calls == ["rest query", "rest query_more", "rest query_more"]
    assert fake.api_calls() == ["rest query", "bulk query", "bulk poll", "bulk page"]


def test_a_campaign_at_the_threshold_stays_on_rest(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 5

    audience_read(campaign_send(account, email))

    assert "bulk query" not in fake.calls


def test_a_bulk_read_audience_is_materialized_once_per_person(
    admin: User,
    email: Email,
    fake: BothApisCrm,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    queued: dict[str, list[int]],
) -> None:
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        audience_materialize(send_id=send.pk)

    audience = CrmAudience.objects.get(send=send)
    keys = DataExtensionRow.objects.filter(data_extension=audience.data_extension)
    assert sorted(keys.values_list("key", flat=True)) == sorted([C1, L1, C3])
    assert audience.rows == 3
    assert "bulk page" in fake.calls


def test_a_bulk_job_still_running_makes_the_send_wait_and_read_again(
    monkeypatch: pytest.MonkeyPatch,
    admin: User,
    email: Email,
    fake: BothApisCrm,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    queued: dict[str, list[int]],
) -> None:
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1
    settings.CONNECT_BULK_WAIT_SECONDS = 1
    fake.job_state = "InProgress"
    later: list[tuple[int, int]] = []
    monkeypatch.setattr(audiences, "enqueue_materialize_later", lambda *args: later.append(args))
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    audience = CrmAudience.objects.get(send=send)
    assert later == [(send.pk, settings.CONNECT_AUDIENCE_RETRY_SECONDS)]
    assert audience.state == AudienceState.PENDING
    assert "bulk_job_running" in audience.failure_reason
    assert audience.data_extension is None


def test_a_failed_bulk_job_fails_the_send_with_its_reason(
    admin: User,
    email: Email,
    fake: BothApisCrm,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    queued: dict[str, list[int]],
) -> None:
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1
    fake.job_state = "Failed"
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    audience = CrmAudience.objects.get(send=send)
    assert audience.state == AudienceState.FAILED
    assert "bulk_job_failed" in audience.failure_reason


# --- Write-back -----------------------------------------------------------------------------


def test_a_large_write_back_is_one_bulk_upsert_by_tracking_key(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 3
    send = completed_send(account, email, 3)

    written = send_results_write(send_id=send.pk)

    assert written == 3
    assert fake.api_calls()[:4] == [
        f"bulk upsert {IER} by {TRACKING_KEY}",
        "bulk upload",
        "bulk close",
        "bulk poll",
    ]
    assert "rest composite" not in fake.calls
    links = dict(EmailResultLink.objects.values_list("tracking_key", "crm_id"))
    assert links == {key: ier["Id"] for key, ier in fake.iers.items()}
    lead = next(r for r in bulk.read_csv(fake.upload) if r.get("et4ae5__Lead__c"))
    assert lead["et4ae5__Opened__c"] == "false"
    assert lead["et4ae5__DateOpened__c"] == ""
    assert CrmAudience.objects.get(send=send).results_written_at is not None


def test_a_write_back_under_the_threshold_stays_on_rest(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 4
    send = completed_send(account, email, 3)

    send_results_write(send_id=send.pk)

    assert fake.api_calls() == ["rest composite"]


def test_a_bulk_write_back_whose_answer_was_lost_makes_no_duplicate(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 2
    send = completed_send(account, email, 3)
    fake.lose_results = True  # the job wrote all three; the answer saying so is lost
    lost = send_results_write(send_id=send.pk)
    written_then = dict(fake.iers)
    fake.lose_results = False

    again = send_results_write(send_id=send.pk)

    assert (lost, len(written_then), EmailResultLink.objects.count() if lost else -1) == (
        None,
        3,
        -1,
    )
    assert again == 3
    assert {key: ier["Id"] for key, ier in fake.iers.items()} == {
        key: ier["Id"] for key, ier in written_then.items()
    }
    assert dict(EmailResultLink.objects.values_list("tracking_key", "crm_id")) == {
        key: ier["Id"] for key, ier in fake.iers.items()
    }


def test_failed_rows_stay_unwritten_and_go_again_on_the_next_run(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 2
    send = completed_send(account, email, 3)
    first = SendRecord.objects.filter(send=send).order_by("id")[0]
    fake.failing_key = f"{send.pk}:{first.pk}"

    written = send_results_write(send_id=send.pk)
    audience = CrmAudience.objects.get(send=send)
    fake.failing_key = ""
    retried = send_results_write(send_id=send.pk)

    assert (written, audience.results_written_at) == (2, None)
    assert retried == 1  # one failed row: under the threshold, over REST
    assert fake.calls[-1] == "rest composite"
    assert EmailResultLink.objects.filter(record=first).exists()


def test_many_tracking_changes_go_as_one_bulk_upsert_by_tracking_key(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    send = completed_send(account, email, 3)
    send_results_write(send_id=send.pk)  # 3 results: under the default threshold, over REST
    created = {key: ier["Id"] for key, ier in fake.iers.items()}
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 2
    SendRecord.objects.filter(send=send).update(first_opened_at=timezone.now(), open_count=1)
    fake.calls = []

    updated = tracking_write(account_id=account.pk)
    again = tracking_write(account_id=account.pk)

    assert (updated, again) == (3, 0)
    assert fake.api_calls()[0] == f"bulk upsert {IER} by {TRACKING_KEY}"
    assert "bulk upsert" not in " ".join(fake.api_calls()[1:])  # one job, none on the rerun
    rows = bulk.read_csv(fake.upload)
    assert sorted(r[TRACKING_KEY] for r in rows) == sorted(created)
    assert {r["et4ae5__Opened__c"] for r in rows} == {"true"}
    assert {r["et4ae5__DateClicked__c"] for r in rows} == {"#N/A"}  # empties, as REST's null
    assert {key: ier["Id"] for key, ier in fake.iers.items()} == created


def test_tracking_changes_stay_unwritten_when_the_bulk_job_fails(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    send = completed_send(account, email, 2)
    send_results_write(send_id=send.pk)
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 2
    SendRecord.objects.filter(send=send).update(first_opened_at=timezone.now(), open_count=1)
    written_before = list(EmailResultLink.objects.values_list("written", flat=True))
    fake.job_state = "Failed"

    assert tracking_write(account_id=account.pk) == 0
    assert list(EmailResultLink.objects.values_list("written", flat=True)) == written_before


def test_bulk_jobs_run_as_the_connections_system_user(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    settings.CONNECT_BULK_WRITEBACK_THRESHOLD = 1
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1

    audience_read(campaign_send(account, email))
    send_results_write(send_id=completed_send(account, email, 2).pk)

    assert fake.tokens == {"token-system@acme.test"}


# --- API usage ------------------------------------------------------------------------------


def families(account: Account) -> dict[tuple[str, bool], int]:
    return {
        (row.api_family, row.counts_against_limit): row.calls
        for row in ApiCallDay.objects.filter(account=account)
    }


def test_under_connected_app_auth_bulk_calls_count_and_rest_reads_do_not(
    account: Account, email: Email, fake: BothApisCrm, settings: Any
) -> None:
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.CONNECTED_APP)
    tokens_forget(account.pk)
    ApiCallDay.objects.all().delete()
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1

    audience_read(campaign_send(account, email))

    # rest: the token (JWT bearer) and the first page; bulk: create, poll, one page
    assert families(account) == {("rest", False): 2, ("bulk", True): 3}


def test_under_legacy_auth_rest_calls_count_too(
    account: Account, email: Email, fake: BothApisCrm
) -> None:
    ApiCallDay.objects.all().delete()

    audience_read(campaign_send(account, email))

    assert families(account) == {("rest", True): 4}  # the password login and three pages


def test_usage_json_and_page_show_the_bulk_share(
    account: Account, email: Email, fake: BothApisCrm, settings: Any, admin_client: Client
) -> None:
    ApiCallDay.objects.all().delete()
    settings.CONNECT_BULK_AUDIENCE_THRESHOLD = 1
    audience_read(campaign_send(account, email))  # 2 REST calls (login, page), 3 Bulk calls

    shown = CliRunner().invoke(
        cli, ["connect", "usage", "--account", account.name, "--json"], env={"COLUMNS": "200"}
    )
    text = CliRunner().invoke(
        cli, ["connect", "usage", "--account", account.name], env={"COLUMNS": "200"}
    )
    page = admin_client.get(URL).content.decode()

    data = json.loads(shown.stdout)
    assert data["by_family"] == [
        {"family": "bulk", "calls": 3, "counts_against_limit": 3},
        {"family": "rest", "calls": 2, "counts_against_limit": 2},
    ]
    assert data["bulk_share"] == 0.6
    assert "Bulk API share of the calls: 60%" in page
    assert "Bulk API share of the calls: 60%" in text.stdout
    families_table = page.split('id="api-usage-families"', 1)[1].split("</table>", 1)[0]
    assert "<td>Bulk</td><td>3</td><td>3</td>" in families_table
