"""The account_create service behind `tandem engagement account create`."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import Account, AuditEvent, Role, User
from tandem.engagement.accounts.services import AccountError, account_create, audit_record

pytestmark = pytest.mark.django_db


def test_creates_the_account_and_its_first_administrator() -> None:
    admin = account_create(name="Acme", admin_username="root", admin_password="a long passphrase 9")

    assert admin.account is not None
    assert admin.account.name == "Acme"
    assert admin.role == Role.ADMINISTRATOR
    assert admin.check_password("a long passphrase 9")
    assert AuditEvent.objects.get().action == "account.created"


@pytest.mark.parametrize(
    ("name", "username", "password", "message"),
    [
        ("", "root", "a long passphrase 9", "account name"),
        ("Acme", " ", "a long passphrase 9", "admin username"),
        ("acme", "root2", "a long passphrase 9", "already exists"),
        ("Other", "taken", "a long passphrase 9", "is taken"),
        ("Other", "root3", "short", "too short"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    name: str, username: str, password: str, message: str
) -> None:
    account_create(name="Acme", admin_username="taken", admin_password="a long passphrase 9")
    counts = (Account.objects.count(), User.objects.count(), AuditEvent.objects.count())

    with pytest.raises(AccountError, match=message):
        account_create(name=name, admin_username=username, admin_password=password)

    assert (Account.objects.count(), User.objects.count(), AuditEvent.objects.count()) == counts


def test_audit_record_keeps_actor_label_when_actor_is_none() -> None:
    account = Account.objects.create(name="Acme")

    event = audit_record(account=account, actor=None, action="x.y", target="t", old=1, new=2)

    assert event.actor_label == "system"
