"""An optional per-send rate: loops of all workers reserve slots of one budget in the send row."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.claims import send_reserve_slots
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import RecordStatus, Send, SendStatus
from tandem.engagement.sends.pipeline import rate_batch_size, send_deliver
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink, config_for


def limited_send(
    marketer: User, email: Email, audience: DataExtension, rate: int, capture: Any
) -> Send:
    assert marketer.account is not None
    send = send_create(
        actor=marketer,
        account=marketer.account,
        name="Slow",
        email=email,
        data_extension=audience,
        max_per_second=rate,
    )
    with capture(execute=False):
        send_schedule(actor=marketer, send=send)
    with capture(execute=False):
        started = send_begin(send_id=send.id)
    assert started is not None
    return started


def test_reservations_of_successive_loops_follow_each_other_at_the_rate(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = limited_send(marketer, email, audience, 10, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now(), tick=False):
        now = timezone.now()

        starts = [send_reserve_slots(send_id=send.id, count=5, per_second=10) for _ in range(3)]

    assert starts == [now, now + timedelta(seconds=0.5), now + timedelta(seconds=1.0)]


def test_an_idle_budget_does_not_save_up_a_burst(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = limited_send(marketer, email, audience, 10, django_capture_on_commit_callbacks)
    send_reserve_slots(send_id=send.id, count=5, per_second=10)

    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        later = timezone.now()
        start = send_reserve_slots(send_id=send.id, count=5, per_second=10)

    assert start == later


def test_a_rate_limited_batch_fits_in_half_the_batch_deadline() -> None:
    config = config_for(25, batch_size=500, lease_seconds=40)

    assert rate_batch_size(config, 20) == 100
    assert rate_batch_size(config, 1) == 5
    assert rate_batch_size(config, 100_000) == 500


def test_a_rate_limited_send_delivers_everyone_once_and_no_faster_than_its_rate(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = limited_send(marketer, email, audience, 20, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    assert sorted(Counter(sink.message_ids).values()) == [1] * 25
    assert Counter(send.records.values_list("status", flat=True)) == {RecordStatus.SENT: 25}
    # 25 messages at 20 a second span at least 24/20 s: a lower bound, not flaky when slow.
    assert sink.arrivals[-1] - sink.arrivals[0] >= 1.0
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED


@pytest.mark.parametrize("rate", [0, 100_001])
def test_a_rate_out_of_range_is_refused(
    marketer: User, email: Email, audience: DataExtension, rate: int
) -> None:
    assert marketer.account is not None
    with pytest.raises(SendInvalidError, match="rate from 1 to"):
        send_create(
            actor=marketer,
            account=marketer.account,
            name="Slow",
            email=email,
            data_extension=audience,
            max_per_second=rate,
        )

    assert not Send.objects.exists()


def test_the_cli_takes_a_rate_and_refuses_zero_with_exit_2(
    email: Email, audience: DataExtension
) -> None:
    runner = CliRunner()

    bad = runner.invoke(
        app, ["send", "create", "--email", "Welcome", "--de", "Subscribers", "--rate", "0"]
    )
    good = runner.invoke(
        app, ["send", "create", "--email", "Welcome", "--de", "Subscribers", "--rate", "50"]
    )

    assert bad.exit_code == 2
    assert "rate from 1 to" in bad.output
    assert good.exit_code == 0, good.output
    assert Send.objects.get().max_per_second == 50


def test_the_new_send_page_saves_the_rate(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    response = marketer_client.post(
        "/email/interactions/new/",
        {"name": "Slow", "email": email.id, "data_extension": audience.id, "max_per_second": "30"},
    )

    assert response.status_code == 302
    assert Send.objects.get().max_per_second == 30
