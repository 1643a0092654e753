"""Sends to a synchronized data extension, directly or through a filtered one: CRM-audience
sends whose recipients are the synchronized rows that match when the send begins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import availability
from tandem.engagement.connect.audiences import audience_materialize
from tandem.engagement.connect.models import CrmConnection, Outage
from tandem.engagement.sends.audiences import crm_audience_clean
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.filters import Condition, conditions_parse, filtered_create
from tandem.engagement.syncs.models import FilteredDataExtension, SyncSource
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.setup import source_setup
from tests.engagement.syncs.conftest import SyncCrm

KIND = "synchronized_data_extension"


@pytest.fixture
def synced(legacy: CrmConnection, sync_crm: SyncCrm, account: Account) -> SyncSource:
    for n in range(1, 7):
        domain = "acme.test" if n % 2 else "other.test"
        sync_crm.put("Contact", f"003{n:015d}", Email=f"c{n}@{domain}", FirstName=f"F{n}")
    source = source_setup(account=account, object_name="Contact", fields=["Email", "FirstName"])
    source_run(source_id=source.pk)
    return source


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {"materialize": [], "deliver": []}
    monkeypatch.setattr(availability, "_enqueue_materialize", seen["materialize"].append)
    monkeypatch.setattr("tandem.engagement.sends.queue.enqueue_deliveries", seen["deliver"].append)
    return seen


def send_to(admin: User, email: Email, ref: str, capture: Any) -> Send:
    assert admin.account is not None
    send = send_create(
        actor=admin,
        account=admin.account,
        name="Sync",
        email=email,
        audience_kind=KIND,
        audience_ref=ref,
    )
    with capture(execute=False):
        send_schedule(actor=admin, send=send)
    with capture(execute=True):
        send_begin(send_id=send.pk)
    with capture(execute=True):
        audience_materialize(send_id=send.pk)
    send.refresh_from_db()
    return send


def test_filtered_send_reaches_exactly_the_matching_rows(
    synced: SyncSource,
    admin: User,
    account: Account,
    email: Email,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    filtered_create(
        account=account,
        name="Acme contacts",
        source=synced,
        conditions=conditions_parse("Email ends_with @acme.test"),
    )
    send = send_to(admin, email, "Acme contacts", django_capture_on_commit_callbacks)
    assert send.status == SendStatus.RUNNING
    assert sorted(send.records.values_list("email", flat=True)) == [
        "c1@acme.test",
        "c3@acme.test",
        "c5@acme.test",
    ]


def test_filter_is_evaluated_when_the_send_begins(
    synced: SyncSource,
    sync_crm: SyncCrm,
    admin: User,
    account: Account,
    email: Email,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    filtered_create(
        account=account,
        name="Acme contacts",
        source=synced,
        conditions=[Condition("Email", "ends_with", "@acme.test")],
    )
    sync_crm.put("Contact", f"003{2:015d}", Email="moved@acme.test")
    source_run(source_id=synced.pk)
    send = send_to(admin, email, "Acme contacts", django_capture_on_commit_callbacks)
    assert "moved@acme.test" in set(send.records.values_list("email", flat=True))


def test_the_synchronized_de_itself_is_an_audience(
    synced: SyncSource,
    admin: User,
    email: Email,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = send_to(admin, email, "Contact_Salesforce", django_capture_on_commit_callbacks)
    assert send.records.count() == 6


def test_during_an_outage_the_send_fails_like_other_crm_audiences(
    synced: SyncSource,
    admin: User,
    account: Account,
    email: Email,
    queued: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    now = timezone.now()
    Outage.objects.create(
        account=account,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        created_by=admin,
    )
    send = send_to(admin, email, "Contact_Salesforce", django_capture_on_commit_callbacks)
    assert send.status == SendStatus.FAILED
    assert "scheduled outage" in send.failure_reason
    assert send.records.count() == 0


def test_unknown_names_and_bad_conditions_are_refused(synced: SyncSource, account: Account) -> None:
    with pytest.raises(SendInvalidError):
        crm_audience_clean(account_id=account.pk, kind=KIND, ref="Nope")
    with pytest.raises(SyncError):
        filtered_create(
            account=account, name="X", source=synced, conditions=[Condition("Phone", "equals", "1")]
        )
    with pytest.raises(SyncError):
        filtered_create(
            account=account,
            name="X",
            source=synced,
            conditions=[Condition("Email", "sounds_like", "a")],
        )
    assert not FilteredDataExtension.objects.exists()
