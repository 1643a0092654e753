"""`tandem engagement account create`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.engagement.accounts.models import Account, User

pytestmark = pytest.mark.django_db


def test_creates_an_account_and_says_so() -> None:
    out = io.StringIO()

    call_command(
        "account",
        "create",
        "--name",
        "Acme",
        "--admin-username",
        "root",
        "--admin-password",
        "a long passphrase 9",
        stdout=out,
    )

    assert "Created account 'Acme'" in out.getvalue()
    assert User.objects.get(username="root").account == Account.objects.get(name="Acme")


def test_duplicate_name_exits_2_and_changes_nothing() -> None:
    Account.objects.create(name="Acme")

    with pytest.raises(CommandError, match="already exists") as raised:
        call_command(
            "account",
            "create",
            "--name",
            "ACME",
            "--admin-username",
            "root",
            "--admin-password",
            "a long passphrase 9",
        )

    assert raised.value.returncode == 2
    assert Account.objects.count() == 1
    assert not User.objects.exists()


def test_password_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_ADMIN_PASSWORD", "a long passphrase 9")

    call_command("account", "create", "--name", "Acme", "--admin-username", "root")

    assert User.objects.get(username="root").check_password("a long passphrase 9")
