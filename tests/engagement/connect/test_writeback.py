"""IndividualEmailResults: created in batches of 200 after the send, tracking updated later."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import ApiUsage, CrmResult, CrmToken
from tandem.engagement.connect.models import (
    AudienceState,
    ConnectionState,
    CrmAudience,
    CrmConnection,
    EmailResultLink,
)
from tandem.engagement.connect.writeback import (
    IER,
    TRACKING_KEY,
    pending_results_send_ids,
    send_results_write,
    tracking_write,
)
from tandem.engagement.sends.models import AudienceKind, RecordStatus, Send, SendRecord, SendStatus
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm

pytestmark = pytest.mark.usefixtures("legacy")


@dataclass
class WritingCrm(FakeCrm):
    """The fake CRM, recording composite creates and upserts by external id."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    upserts: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def composite_create(self, *, token: CrmToken, records: list[dict[str, Any]]) -> CrmResult:
        self.batches.append(records)
        start = sum(len(batch) for batch in self.batches[:-1])
        answers = [
            {"id": f"a0E{start + i:015d}", "success": True, "errors": []}
            for i in range(len(records))
        ]
        return CrmResult(answers, ApiUsage(20, 15000))

    def record_upsert(
        self, *, token: CrmToken, sobject: str, field: str, key: str, fields: dict[str, Any]
    ) -> CrmResult:
        self.upserts.append((sobject, field, key, fields))
        return CrmResult({"id": "a0E000000000000", "success": True, "created": False})


@pytest.fixture
def fake(settings: Any, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch) -> WritingCrm:
    writing = WritingCrm(users=crm.users, passwords=crm.passwords)
    settings.CONNECT_CRM_CLIENT = lambda: writing
    return writing


def completed_send(account: Account, email: Email, recipients: int) -> Send:
    """A completed campaign send with `recipients` sent records (contacts, then one lead)."""
    send = Send.objects.create(
        account=account,
        name="To the campaign",
        email=email,
        audience_kind=AudienceKind.CAMPAIGN,
        audience_ref="701000000000001AAA",
        status=SendStatus.COMPLETED,
        finished_at=timezone.now(),
    )
    CrmAudience.objects.create(account=account, send=send, state=AudienceState.READY)
    now = timezone.now()
    SendRecord.objects.bulk_create(
        SendRecord(
            send=send,
            subscriber_key=(f"00Q{i:015d}" if i == recipients - 1 else f"003{i:015d}"),
            email=f"p{i}@acme.test",
            status=RecordStatus.SENT,
            sent_at=now,
        )
        for i in range(recipients)
    )
    return send


def test_results_are_written_in_batches_of_200(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 450)

    written = send_results_write(send_id=send.pk)

    assert written == 450
    assert [len(batch) for batch in fake.batches] == [200, 200, 50]
    assert EmailResultLink.objects.filter(record__send=send).count() == 450
    assert CrmAudience.objects.get(send=send).results_written_at is not None


def test_each_result_names_its_contact_or_lead_and_tracking_key(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 2)

    send_results_write(send_id=send.pk)

    contact, lead = fake.batches[0]
    record = SendRecord.objects.get(send=send, subscriber_key=contact["et4ae5__Contact__c"])
    assert contact["attributes"] == {"type": IER}
    assert contact[TRACKING_KEY] == f"{send.pk}:{record.pk}"
    assert lead["et4ae5__Lead__c"].startswith("00Q")
    assert (contact["et4ae5__Email__c"], contact["et4ae5__JobId__c"]) == (
        "p0@acme.test",
        str(send.pk),
    )


def test_results_wait_until_the_send_is_complete(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 3)
    Send.objects.filter(pk=send.pk).update(status=SendStatus.RUNNING)

    assert send_results_write(send_id=send.pk) is None
    assert fake.batches == []


def test_results_are_written_once(account: Account, email: Email, fake: WritingCrm) -> None:
    send = completed_send(account, email, 3)

    send_results_write(send_id=send.pk)
    again = send_results_write(send_id=send.pk)

    assert (again, len(fake.batches)) == (0, 1)


def test_write_back_pauses_while_upgrading_and_catches_up_after(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 3)
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.UPGRADING)

    paused = send_results_write(send_id=send.pk)
    pending = pending_results_send_ids(account.pk)
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.LEGACY)
    caught_up = send_results_write(send_id=send.pk)

    assert (paused, pending, caught_up) == (None, [send.pk], 3)


def test_opens_clicks_and_unsubscribes_update_by_tracking_key(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 3)
    send_results_write(send_id=send.pk)
    record = SendRecord.objects.filter(send=send).order_by("id").first()
    assert record is not None
    now = timezone.now()
    SendRecord.objects.filter(pk=record.pk).update(
        first_opened_at=now, open_count=2, first_clicked_at=now, click_count=1, unsubscribed_at=now
    )

    updated = tracking_write(account_id=account.pk)
    unchanged = tracking_write(account_id=account.pk)

    assert (updated, unchanged) == (1, 0)
    sobject, field_name, key, fields = fake.upserts[0]
    assert (sobject, field_name, key) == (IER, TRACKING_KEY, f"{send.pk}:{record.pk}")
    assert fields["et4ae5__Opened__c"] is True
    assert fields["et4ae5__NumberOfUniqueClicks__c"] == 1
    assert fields["et4ae5__DateUnsubscribed__c"] == now.isoformat()


def test_tracking_write_back_pauses_inside_an_outage(
    admin: User, account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 1)
    send_results_write(send_id=send.pk)
    SendRecord.objects.filter(send=send).update(first_opened_at=timezone.now(), open_count=1)
    services.outage_schedule(actor=admin, account=account, starts_at=timezone.now(), hours=2)

    assert tracking_write(account_id=account.pk) == 0
    assert fake.upserts == []


def test_bounced_recipients_get_a_hard_bounce_result(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 1)
    SendRecord.objects.filter(send=send).update(status=RecordStatus.BOUNCED)

    send_results_write(send_id=send.pk)

    assert fake.batches[0][0]["et4ae5__HardBounce__c"] is True


def test_results_are_not_written_while_another_writer_holds_them(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = completed_send(account, email, 2)
    CrmAudience.objects.filter(send=send).update(results_claimed_at=timezone.now())

    assert send_results_write(send_id=send.pk) is None
    assert fake.batches == []
