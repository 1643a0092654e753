"""The one gate a send passes before it starts: admit, refuse with a reason, or hold."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends import admission
from tandem.engagement.sends.admission import CONNECT_UNAVAILABLE, Admission, Verdict
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email


def scheduled(marketer: User, email: Email, capture: Any, **audience: Any) -> Send:
    assert marketer.account is not None
    send = send_create(actor=marketer, account=marketer.account, name="S", email=email, **audience)
    with capture(execute=False):
        send_schedule(actor=marketer, send=send)
    return send


@pytest.mark.parametrize(
    "kind",
    [
        AudienceKind.REPORT,
        AudienceKind.CAMPAIGN,
        AudienceKind.CONTACT,
        AudienceKind.LEAD,
        AudienceKind.SALESFORCE_DATA_EXTENSION,
    ],
)
def test_every_crm_audience_goes_through_the_connect_rule(
    marketer: User, email: Email, django_capture_on_commit_callbacks: Any, kind: str
) -> None:
    send = scheduled(
        marketer,
        email,
        django_capture_on_commit_callbacks,
        audience_kind=kind,
        audience_ref="00O000000000001",
    )

    assert admission.send_admission(send).verdict is Verdict.REFUSE


def test_a_data_extension_send_is_admitted(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = scheduled(marketer, email, django_capture_on_commit_callbacks, data_extension=audience)

    assert admission.send_admission(send).verdict is Verdict.ADMIT


def test_a_held_send_waits_with_its_reason(
    marketer: User,
    email: Email,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = scheduled(
        marketer,
        email,
        django_capture_on_commit_callbacks,
        audience_kind=AudienceKind.CAMPAIGN,
        audience_ref="701000000000001",
    )
    hold = Admission(Verdict.HOLD, CONNECT_UNAVAILABLE)
    monkeypatch.setattr(admission, "_crm_audience_admission", lambda send: hold)

    send_begin(send_id=send.id)

    send.refresh_from_db()
    assert (send.status, send.failure_reason) == (SendStatus.HELD, CONNECT_UNAVAILABLE)
