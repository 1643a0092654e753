"""CRM audiences: read through Connect into a 5-day sendable data extension, then sent like a DE."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import audiences, availability
from tandem.engagement.connect.audiences import audience_materialize, audience_purge_expired, id18
from tandem.engagement.connect.availability import UNAVAILABLE_REASON
from tandem.engagement.connect.client import ApiUsage, CrmError, CrmResult, CrmToken
from tandem.engagement.connect.models import (
    AudienceState,
    ConnectionState,
    CrmAudience,
    CrmConnection,
)
from tandem.engagement.connect.tokens import tokens_forget
from tandem.engagement.data.models import DataExtension, DataExtensionRow, FieldType
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm

pytestmark = pytest.mark.usefixtures("legacy")

CAMPAIGN = "701000000000001AAA"
C1, C2, L1 = "003000000000001AAA", "003000000000002AAA", "00Q000000000001AAA"


@dataclass
class AudienceCrm(FakeCrm):
    """The fake CRM, answering SOQL and report runs from canned rows."""

    soql: list[str] = field(default_factory=list)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    refuse: CrmError | None = None

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        self.soql.append(soql)
        if self.refuse is not None:
            raise self.refuse
        sobject = soql.split(" FROM ")[1].split()[0]
        return CrmResult({"done": True, "records": self.answers.get(sobject, [])}, ApiUsage(1, 9))

    def report_run(self, *, token: CrmToken, report_id: str) -> CrmResult:
        self.soql.append(f"report {report_id}")
        return CrmResult(self.report)


def member(crm_id: str, email: str, first: str, opted_out: bool = False) -> dict[str, Any]:
    parent = "Lead" if crm_id.startswith("00Q") else "Contact"
    return {
        "Id": "00v" + crm_id[3:],
        "ContactId": crm_id if parent == "Contact" else None,
        "LeadId": crm_id if parent == "Lead" else None,
        parent: {
            "Email": email,
            "FirstName": first,
            "LastName": "X",
            "HasOptedOutOfEmail": opted_out,
        },
    }


@pytest.fixture
def fake(settings: Any, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch) -> AudienceCrm:

    audience_crm = AudienceCrm(users=crm.users, passwords=crm.passwords)
    settings.CONNECT_CRM_CLIENT = lambda: audience_crm
    return audience_crm


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """What would have gone to the broker: Connect reads and delivery loops."""
    seen: dict[str, list[int]] = {"materialize": [], "deliver": []}
    monkeypatch.setattr(availability, "_enqueue_materialize", seen["materialize"].append)
    monkeypatch.setattr("tandem.engagement.sends.queue.enqueue_deliveries", seen["deliver"].append)
    return seen


def scheduled(actor: User, mail: Email, capture: Any, kind: str, ref: str) -> Send:
    assert actor.account is not None
    send = send_create(
        actor=actor,
        account=actor.account,
        name="To the CRM",
        email=mail,
        audience_kind=kind,
        audience_ref=ref,
    )
    with capture(execute=False):
        send_schedule(actor=actor, send=send)
    return send


def begin(send: Send, capture: Any) -> Send:
    with capture(execute=True):
        send_begin(send_id=send.pk)
    send.refresh_from_db()
    return send


def test_id18_adds_the_case_safe_suffix_to_a_15_character_id() -> None:
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert id18("003000000000001AAA") == "003000000000001AAA"


def test_admitted_crm_send_waits_for_connect_without_calling_the_crm(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)

    send = begin(send, django_capture_on_commit_callbacks)

    assert send.status == SendStatus.SCHEDULED
    assert queued["materialize"] == [send.pk]
    assert fake.soql == []
    assert CrmAudience.objects.get(send=send).state == AudienceState.PENDING


def test_campaign_send_is_materialized_and_started_like_a_de_send(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [
        member(C1, "ann@acme.test", "Ann"),
        member(C2, "bob@acme.test", "Bob"),
        member(L1, "lee@lead.test", "Lee"),
        member(C1, "ann@acme.test", "Ann"),
    ]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.RUNNING
    assert sorted(send.records.values_list("subscriber_key", "email")) == [
        (C1, "ann@acme.test"),
        (C2, "bob@acme.test"),
        (L1, "lee@lead.test"),
    ]
    assert f"WHERE CampaignId = '{CAMPAIGN}'" in fake.soql[0]
    assert queued["deliver"] == [send.pk]


def test_materialized_de_is_sendable_with_typed_email_and_5_day_retention(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [member(C1, "ann@acme.test", "Ann")]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    audience = CrmAudience.objects.get(send=send)
    data_extension = audience.data_extension
    assert data_extension is not None
    types = dict(data_extension.fields.values_list("name", "field_type"))
    assert (data_extension.is_sendable, data_extension.subscriber_key_field) == (
        True,
        "SubscriberKey",
    )
    assert types[data_extension.email_field] == FieldType.EMAIL_ADDRESS
    assert audience.expires_at is not None
    assert audience.expires_at - audience.updated_at == timedelta(days=5)


def test_fifteen_character_contact_ids_become_18_character_subscriber_keys(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.report = {
        "reportMetadata": {"detailColumns": ["Id", "FirstName", "Email"]},
        "reportExtendedMetadata": {
            "detailColumnInfo": {
                "Id": {"label": "Contact ID", "dataType": "id"},
                "Email": {"label": "Email", "dataType": "email"},
            }
        },
        "factMap": {
            "T!T": {
                "rows": [
                    {
                        "dataCells": [
                            {"value": "001A0000006Vm9r"},
                            {"value": "Ann"},
                            {"value": "ann@acme.test"},
                        ]
                    }
                ]
            }
        },
    }
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "report", "00O000000000001")
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert list(send.records.values_list("subscriber_key", flat=True)) == ["001A0000006Vm9rIAC"]


def test_contact_and_lead_ids_are_read_from_their_objects(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["Contact"] = [{"Id": C1, "Email": "ann@acme.test", "FirstName": "Ann"}]
    fake.answers["Lead"] = [{"Id": L1, "Email": "lee@lead.test", "FirstName": "Lee"}]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "contact", f"{C1}, {L1}")
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.records.count() == 2
    assert any(f"FROM Lead WHERE Id IN ('{L1}')" in soql for soql in fake.soql)


def test_campaign_members_who_opted_out_of_email_are_not_sent_to(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [
        member(C1, "ann@acme.test", "Ann"),
        member(C2, "bob@acme.test", "Bob", opted_out=True),
        member(L1, "lee@lead.test", "Lee", opted_out=True),
    ]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert list(send.records.values_list("subscriber_key", flat=True)) == [C1]
    assert "Contact.HasOptedOutOfEmail" in fake.soql[0]
    assert "Lead.HasOptedOutOfEmail" in fake.soql[0]


def test_contacts_who_opted_out_of_email_are_not_sent_to(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["Contact"] = [
        {"Id": C1, "Email": "ann@acme.test", "HasOptedOutOfEmail": False},
        {"Id": C2, "Email": "bob@acme.test", "HasOptedOutOfEmail": True},
    ]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "contact", f"{C1} {C2}")
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert list(send.records.values_list("subscriber_key", flat=True)) == [C1]


def test_report_rows_are_checked_against_their_records_opt_out(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    cells = [[{"value": C1}, {"value": "ann@acme.test"}], [{"value": C2}, {"value": "bob@x.test"}]]
    fake.report = {
        "reportMetadata": {"detailColumns": ["Id", "Email"]},
        "reportExtendedMetadata": {
            "detailColumnInfo": {
                "Id": {"label": "Contact ID"},
                "Email": {"label": "Email", "dataType": "email"},
            }
        },
        "factMap": {"T!T": {"rows": [{"dataCells": row} for row in cells]}},
    }
    fake.answers["Contact"] = [
        {"Id": C1, "Email": "ann@acme.test", "HasOptedOutOfEmail": False},
        {"Id": C2, "Email": "bob@x.test", "HasOptedOutOfEmail": True},
    ]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "report", "00O000000000001")
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert list(send.records.values_list("subscriber_key", flat=True)) == [C1]
    assert any("HasOptedOutOfEmail FROM Contact" in soql for soql in fake.soql)


def test_crm_refusal_fails_the_send_with_the_crms_reason(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.refuse = CrmError("INVALID_SESSION_ID", "Session expired or invalid", 400)
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert "Session expired or invalid" in send.failure_reason
    assert not DataExtension.objects.filter(name__startswith="CRM").exists()


@pytest.mark.parametrize(
    "error",
    [
        CrmError("unreachable", "the CRM did not answer (connection refused)"),
        CrmError("SERVER_UNAVAILABLE", "The database is unavailable", 503),
    ],
)
def test_a_crm_that_does_not_answer_makes_the_send_wait_then_read_again(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    error: CrmError,
) -> None:
    later: list[tuple[int, int]] = []
    monkeypatch.setattr(audiences, "enqueue_materialize_later", lambda *args: later.append(args))
    fake.answers["CampaignMember"] = [member(C1, "ann@acme.test", "Ann")]
    fake.refuse = error
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    assert audience_materialize(send_id=send.pk) is None

    send.refresh_from_db()
    audience = CrmAudience.objects.get(send=send)
    assert send.status == SendStatus.SCHEDULED
    assert send.failure_reason.startswith(
        f"Waiting for the CRM to give the audience: {error.message} ({error.code}). "
        "Connect tries again every 15 s until "
    )
    assert (audience.state, audience.failure_reason) == (AudienceState.PENDING, send.failure_reason)
    assert audience.data_extension is None
    assert later == [(send.pk, 15)]

    fake.refuse = None
    with django_capture_on_commit_callbacks(execute=True):
        audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.RUNNING
    assert send.failure_reason == ""
    assert list(send.records.values_list("subscriber_key", flat=True)) == [C1]


def test_a_crm_silent_for_longer_than_the_retry_time_fails_the_send(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    later: list[tuple[int, int]] = []
    monkeypatch.setattr(audiences, "enqueue_materialize_later", lambda *args: later.append(args))
    fake.refuse = CrmError("unreachable", "the CRM did not answer (connection refused)")
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)
    CrmAudience.objects.filter(send=send).update(
        created_at=timezone.now() - audiences.READ_RETRY_FOR
    )

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert send.failure_reason == (
        "The CRM refused to give the audience: the CRM did not answer (connection refused) "
        "(unreachable)"
    )
    assert later == []


def test_outage_starting_before_the_read_fails_the_send_and_reads_nothing(
    admin: User,
    account: Account,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.UPGRADING)

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert send.failure_reason.startswith(UNAVAILABLE_REASON)
    assert fake.soql == []


def test_hold_option_holds_the_send_when_the_upgrade_starts_before_the_read(
    admin: User,
    account: Account,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)
    CrmConnection.objects.filter(account=account).update(
        state=ConnectionState.UPGRADING, hold_crm_sends=True
    )

    audience_materialize(send_id=send.pk)

    send.refresh_from_db()
    assert send.status == SendStatus.HELD
    assert fake.soql == []


def test_a_second_materialize_reads_the_crm_once(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [member(C1, "ann@acme.test", "Ann")]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)
    audience_materialize(send_id=send.pk)

    assert len(fake.soql) == 1
    assert DataExtension.objects.filter(name__startswith="CRM").count() == 1


def test_rows_past_the_5_day_retention_are_purged(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [member(C1, "ann@acme.test", "Ann")]
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)
    audience_materialize(send_id=send.pk)
    audience = CrmAudience.objects.get(send=send)

    kept = audience_purge_expired()
    CrmAudience.objects.filter(pk=audience.pk).update(expires_at=timezone.now())
    purged = audience_purge_expired()

    assert (kept, purged) == (0, 1)
    assert not DataExtensionRow.objects.filter(data_extension=audience.data_extension).exists()


def test_data_extension_sends_are_not_touched_by_connect(
    admin: User,
    email: Email,
    audience: DataExtension,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert admin.account is not None
    send = send_create(
        actor=admin, account=admin.account, name="de", email=email, data_extension=audience
    )
    with django_capture_on_commit_callbacks(execute=False):
        send_schedule(actor=admin, send=send)

    send = begin(send, django_capture_on_commit_callbacks)

    assert send.status == SendStatus.RUNNING
    assert send.audience_kind == AudienceKind.DATA_EXTENSION
    assert not CrmAudience.objects.exists()
    assert queued["materialize"] == []


def test_materialize_does_nothing_while_another_worker_reads(
    admin: User,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)
    CrmAudience.objects.filter(send=send).update(state=AudienceState.READING)

    result = audience_materialize(send_id=send.pk)

    assert result is None
    assert fake.soql == []


def test_connected_app_mode_reads_as_the_system_user_by_jwt_bearer(
    admin: User,
    account: Account,
    email: Email,
    fake: AudienceCrm,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    fake.answers["CampaignMember"] = [member(C1, "ann@acme.test", "Ann")]
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.CONNECTED_APP)
    tokens_forget(account.pk)
    send = scheduled(admin, email, django_capture_on_commit_callbacks, "campaign", CAMPAIGN)
    begin(send, django_capture_on_commit_callbacks)

    audience_materialize(send_id=send.pk)

    assert fake.calls == ["jwt system@acme.test"]
    assert Send.objects.get(pk=send.pk).status == SendStatus.RUNNING
