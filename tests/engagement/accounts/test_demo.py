"""The demo account seed and `tandem engagement engagement_demo` (both idempotent)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rich.console import Console

from tandem.cli.demo_crm import read_demo_json, write_demo_json, write_demo_part
from tandem.cli.demo_engagement import print_logins as print_engagement_logins
from tandem.engagement.accounts.demo import DEMO_PASSWORD, demo_seed
from tandem.engagement.accounts.models import Account, AuditEvent, Role, User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.studio.models import Email

pytestmark = pytest.mark.django_db

CRM_USERS = ["maria@acme.demo", "mark@acme.demo"]


def run_command() -> dict[str, object]:
    out = io.StringIO()
    call_command("engagement_demo", "--json", *[f"--crm-user={u}" for u in CRM_USERS], stdout=out)
    return json.loads(out.getvalue())


def test_demo_seed_creates_an_administrator_and_one_user_per_crm_user() -> None:
    demo = demo_seed(crm_usernames=CRM_USERS)

    users: list[dict[str, object]] = demo["users"]  # type: ignore[assignment]
    roles = [Role.ADMINISTRATOR, Role.MARKETING_USER, Role.MARKETING_USER]
    assert [u["role"] for u in users] == roles
    assert [u["crm_username"] for u in users] == [None, *CRM_USERS]
    assert User.objects.get(username="maria@mc.acme.demo").email == "maria@acme.demo"
    assert Account.objects.get().name == "Acme Marketing"


def test_the_demo_administrator_logs_in_with_the_printed_password() -> None:
    demo = demo_seed(crm_usernames=CRM_USERS)
    admin = demo["users"][0]  # type: ignore[index]
    login = {"username": admin["username"], "password": admin["password"]}

    response = Client().post("/login/", login)

    assert admin["password"] == DEMO_PASSWORD
    assert response.status_code == 302
    assert response["Location"] == "/email/"


def test_command_is_idempotent() -> None:
    first = run_command()
    users, events = User.objects.count(), AuditEvent.objects.count()

    second = run_command()

    assert second == first
    assert Account.objects.count() == 1
    assert User.objects.count() == users == 3
    assert AuditEvent.objects.count() == events
    assert first["connection"] is None


def test_command_reports_a_username_of_another_account_and_changes_nothing() -> None:
    other = Account.objects.create(name="Northwind")
    User.objects.create_user(username="maria@mc.acme.demo", password="x", account=other)
    out = io.StringIO()

    with pytest.raises(CommandError, match="belongs to another account"):
        call_command("engagement_demo", "--crm-user", "maria@acme.demo", stdout=out)

    assert not Account.objects.filter(name="Acme Marketing").exists()
    assert User.objects.count() == 1


def test_the_demo_has_a_sample_email_and_a_sendable_data_extension_once() -> None:
    first = run_command()
    second = run_command()

    audience = DataExtension.objects.get(account__name="Acme Marketing")
    email = Email.objects.get(account__name="Acme Marketing")
    assert first["email"] == second["email"] == {"id": email.pk, "name": "Spring Newsletter"}
    assert first["data_extension"] == {
        "id": audience.pk,
        "name": "Newsletter Subscribers",
        "rows": 3,
    }
    assert audience.is_sendable
    assert (audience.subscriber_key_field, audience.email_field) == (
        "SubscriberKey",
        "EmailAddress",
    )
    assert sorted(r.values["EmailAddress"] for r in audience.rows.all()) == [
        "ann@subscribers.example",
        "bob@subscribers.example",
        "cleo@subscribers.example",
    ]
    assert "%%FirstName%%" in email.subject


def test_engagement_logins_print_after_the_crm_part_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    write_demo_json(path, {"users": [{"username": "s", "security_token": "T" * 24}], "org": {}})
    demo = run_command()
    out = io.StringIO()

    write_demo_part(path, read_demo_json(path), "engagement", demo)
    print_engagement_logins(demo, Console(file=out, width=200))

    saved = json.loads(path.read_text())
    assert saved["crm"]["users"][0]["security_token"] == "T" * 24
    assert saved["engagement"] == demo
    assert "admin@mc.acme.demo" in out.getvalue()
