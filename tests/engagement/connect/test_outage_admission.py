"""During the upgrade or a scheduled outage: CRM-audience sends fail (or are held); DE sends run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.availability import UNAVAILABLE_REASON
from tandem.engagement.connect.models import ConnectionState, CrmConnection
from tandem.engagement.connect.resume import held_sends_resume
from tandem.engagement.connect.selectors import outage_activities
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email

pytestmark = pytest.mark.usefixtures("legacy")


def started(
    actor: User,
    mail: Email,
    capture: Any,
    data_extension: DataExtension | None = None,
    at: Any = None,
) -> Send:
    assert actor.account is not None
    kind = AudienceKind.DATA_EXTENSION if data_extension else AudienceKind.CAMPAIGN
    send = send_create(
        actor=actor,
        account=actor.account,
        name="s",
        email=mail,
        data_extension=data_extension,
        audience_kind=kind,
        audience_ref="" if data_extension else "701000000000001AAA",
    )
    with capture(execute=False):
        send_schedule(actor=actor, send=send, at=at)
        send_begin(send_id=send.id)
    send.refresh_from_db()
    return send


def upgrading(account: Account, hold: bool = False) -> None:
    CrmConnection.objects.filter(account=account).update(
        state=ConnectionState.UPGRADING, hold_crm_sends=hold
    )


def test_crm_audience_send_fails_while_upgrading(
    admin: User,
    account: Account,
    email: Email,
    django_capture_on_commit_callbacks: Any,
) -> None:
    upgrading(account)

    send = started(admin, email, django_capture_on_commit_callbacks)

    assert send.status == SendStatus.FAILED
    assert send.failure_reason == f"{UNAVAILABLE_REASON}, until it completes (or is rolled back)"
    assert not send.records.exists()


def test_data_extension_send_runs_while_upgrading(
    admin: User,
    account: Account,
    email: Email,
    audience: DataExtension,
    django_capture_on_commit_callbacks: Any,
) -> None:
    upgrading(account)

    send = started(admin, email, django_capture_on_commit_callbacks, data_extension=audience)

    assert send.status == SendStatus.RUNNING
    assert send.records.count() == 25


def test_crm_audience_send_fails_inside_a_scheduled_outage(
    admin: User,
    account: Account,
    email: Email,
    django_capture_on_commit_callbacks: Any,
) -> None:
    outage = services.outage_schedule(
        actor=admin, account=account, starts_at=timezone.now(), hours=2
    )

    send = started(admin, email, django_capture_on_commit_callbacks)

    assert send.status == SendStatus.FAILED
    assert send.failure_reason == (
        "Marketing Cloud Connect is unavailable during a scheduled outage, "
        f"until {outage.ends_at:%Y-%m-%d %H:%M} UTC"
    )
    assert "upgrade" not in send.failure_reason


def test_hold_option_holds_then_resumes_after_the_upgrade(
    admin: User,
    account: Account,
    email: Email,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upgrading(account, hold=True)
    send = started(admin, email, django_capture_on_commit_callbacks)
    queued: list[int] = []
    monkeypatch.setattr(
        "tandem.engagement.sends.queue.enqueue_begin",
        lambda send_id, eta=None: queued.append(send_id),
    )

    held_while_upgrading = held_sends_resume(account_id=account.pk)
    CrmConnection.objects.filter(account=account).update(state=ConnectionState.CONNECTED_APP)
    resumed = held_sends_resume(account_id=account.pk)

    assert send.status == SendStatus.HELD
    assert send.failure_reason == (
        f"{UNAVAILABLE_REASON}; the send resumes by itself once the upgrade completes "
        "(or is rolled back)"
    )
    assert (held_while_upgrading, resumed, queued) == (0, 1, [send.pk])


def test_outage_lists_the_connect_activities_inside_its_window(
    admin: User,
    account: Account,
    email: Email,
    django_capture_on_commit_callbacks: Any,
) -> None:
    start = timezone.now() + timedelta(days=1)
    inside = started(
        admin, email, django_capture_on_commit_callbacks, at=start + timedelta(hours=1)
    )
    started(admin, email, django_capture_on_commit_callbacks, at=start + timedelta(hours=3))

    outage = services.outage_schedule(actor=admin, account=account, starts_at=start, hours=2)

    assert list(outage_activities(outage=outage)) == [inside]
    assert outage.ends_at - outage.starts_at == timedelta(hours=2)


def test_outage_of_bad_length_is_refused_and_nothing_changes(admin: User, account: Account) -> None:
    with pytest.raises(services.ConnectError):
        services.outage_schedule(actor=admin, account=account, starts_at=timezone.now(), hours=0)

    assert not account.connect_outages.exists()
