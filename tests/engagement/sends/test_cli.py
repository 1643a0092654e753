"""`tandem send create/start/status` call the same services as the pages."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.studio.models import Email

runner = CliRunner()


def test_create_prints_the_new_sends_id(email: Email, audience: DataExtension) -> None:
    result = runner.invoke(app, ["send", "create", "--email", "Welcome", "--de", "Subscribers"])

    assert result.exit_code == 0, result.output
    send = Send.objects.get()
    assert result.stdout.strip() == str(send.id)
    assert send.events.get().actor_label == "tandem command"


def test_create_with_an_unknown_email_exits_2_and_creates_nothing(
    email: Email, audience: DataExtension
) -> None:
    result = runner.invoke(app, ["send", "create", "--email", "Nope", "--de", "Subscribers"])

    assert result.exit_code == 2
    assert "no email named 'Nope'" in result.output
    assert not Send.objects.exists()


def test_start_schedules_the_send(
    email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    runner.invoke(app, ["send", "create", "--email", "Welcome", "--de", "Subscribers"])
    send = Send.objects.get()

    with django_capture_on_commit_callbacks(execute=False):
        result = runner.invoke(app, ["send", "start", str(send.id)])

    assert result.exit_code == 0, result.output
    send.refresh_from_db()
    assert send.status == SendStatus.SCHEDULED


def test_start_with_a_bad_time_exits_2_and_changes_nothing(
    email: Email, audience: DataExtension
) -> None:
    runner.invoke(app, ["send", "create", "--email", "Welcome", "--de", "Subscribers"])
    send = Send.objects.get()

    result = runner.invoke(app, ["send", "start", str(send.id), "--at", "tomorrow"])

    assert result.exit_code == 2
    assert "not an ISO 8601 time" in result.output
    send.refresh_from_db()
    assert send.status == SendStatus.DRAFT


def test_status_json_reports_counts(email: Email, audience: DataExtension) -> None:
    runner.invoke(app, ["send", "create", "--email", "Welcome", "--de", "Subscribers"])
    send = Send.objects.get()

    result = runner.invoke(app, ["send", "status", str(send.id), "--json"])

    data = json.loads(result.stdout)
    assert (data["status"], data["sent"], data["remaining"]) == ("draft", 0, 0)


def test_status_of_a_missing_send_exits_2(db: None) -> None:
    result = runner.invoke(app, ["send", "status", "999"])

    assert result.exit_code == 2
    assert "there is no send 999" in result.output
