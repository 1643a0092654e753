"""`tandem send create/start/status` call the same services as the pages."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink

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


def draft_id(email: Email, audience: DataExtension) -> int:
    runner.invoke(app, ["send", "create", "--email", "Welcome", "--de", "Subscribers"])
    return Send.objects.get().id


def test_send_test_delivers_to_each_to_personalized_as_the_row(
    settings: Any, email: Email, audience: DataExtension, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    send_id = draft_id(email, audience)

    result = runner.invoke(
        app,
        [
            "send",
            "test",
            str(send_id),
            "--to",
            "a@example.test",
            "--to",
            "b@example.test",
            "--row",
            "S00004",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "2 of 2 accepted" in result.output
    assert sorted(m["To"] for m in sink.messages) == ["a@example.test", "b@example.test"]
    assert {m["Subject"] for m in sink.messages} == {"Welcome, Name4"}
    test = Send.objects.get(is_test=True)
    assert test.events.get(action="send.test_sent").actor_label == "tandem command"


def test_send_test_to_six_addresses_exits_2_and_sends_nothing(
    settings: Any, email: Email, audience: DataExtension, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    send_id = draft_id(email, audience)
    options = [part for i in range(6) for part in ("--to", f"u{i}@example.test")]

    result = runner.invoke(app, ["send", "test", str(send_id), *options])

    assert result.exit_code == 2
    assert "at most 5 addresses" in result.output
    assert sink.messages == []
    assert not Send.objects.filter(is_test=True).exists()


def test_send_test_to_an_invalid_address_exits_2_and_sends_nothing(
    settings: Any, email: Email, audience: DataExtension, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    send_id = draft_id(email, audience)

    result = runner.invoke(
        app, ["send", "test", str(send_id), "--to", "a@example.test", "--to", "nope"]
    )

    assert result.exit_code == 2
    assert "Invalid email address 'nope'" in result.output
    assert sink.messages == []
    assert not Send.objects.filter(is_test=True).exists()


def test_send_test_of_an_unknown_send_exits_2(db: None, sink: Sink) -> None:
    result = runner.invoke(app, ["send", "test", "999", "--to", "a@example.test"])

    assert result.exit_code == 2
    assert "there is no send 999" in result.output
    assert sink.messages == []


def test_send_test_with_an_unknown_row_exits_2_and_sends_nothing(
    settings: Any, email: Email, audience: DataExtension, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    send_id = draft_id(email, audience)

    result = runner.invoke(
        app, ["send", "test", str(send_id), "--to", "a@example.test", "--row", "X9"]
    )

    assert result.exit_code == 2
    assert "no row with the key 'X9'" in result.output
    assert sink.messages == []


def test_a_second_start_exits_2_and_enqueues_nothing_more(
    email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send_id = draft_id(email, audience)
    with django_capture_on_commit_callbacks(execute=False) as first:
        runner.invoke(app, ["send", "start", str(send_id)])

    with django_capture_on_commit_callbacks(execute=False) as second:
        result = runner.invoke(app, ["send", "start", str(send_id)])

    assert (len(first), len(second)) == (1, 0)
    assert result.exit_code == 2
    assert "only a draft can start" in result.output
    assert Send.objects.get().events.filter(action="send.scheduled").count() == 1
