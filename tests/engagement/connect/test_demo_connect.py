"""The demo's legacy connection (`tandem demo`) and its reset (`tandem demo --reset`), through
Connect's own services against a stand-in CRM."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import AuditEvent, User
from tandem.engagement.connect.demo import LegacyLogin, demo_legacy_connect
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
    Outage,
)
from tests.engagement.connect.conftest import FakeCrm

pytestmark = pytest.mark.django_db

SYSTEM = LegacyLogin("system@acme.test", "pw", "TOKEN")


def logins(marketer: User) -> list[LegacyLogin]:
    return [LegacyLogin("maria@acme.test", "pw", "TOKEN", marketer.username)]


def test_connects_the_account_and_maps_each_user_with_their_own_credentials(
    crm: FakeCrm, admin: User, marketer: User
) -> None:
    connection = demo_legacy_connect(
        admin=admin,
        login_url="https://crm.test",
        system=SYSTEM,
        users=logins(marketer),
        reset=False,
    )

    mapping = ConnectedUser.objects.get()
    assert connection.state == ConnectionState.LEGACY
    assert connection.system_username == "system@acme.test"
    assert (mapping.user, mapping.crm_username, mapping.state) == (
        marketer,
        "maria@acme.test",
        "legacy",
    )
    assert mapping.legacy_secret
    assert "pwTOKEN" not in mapping.legacy_secret  # encrypted at rest
    assert crm.calls == ["password system@acme.test", "password maria@acme.test"]


def test_a_second_run_changes_nothing_and_calls_no_crm(
    crm: FakeCrm, admin: User, marketer: User
) -> None:
    first = demo_legacy_connect(
        admin=admin,
        login_url="https://crm.test",
        system=SYSTEM,
        users=logins(marketer),
        reset=False,
    )
    calls, events = list(crm.calls), AuditEvent.objects.count()

    again = demo_legacy_connect(
        admin=admin,
        login_url="https://crm.test",
        system=SYSTEM,
        users=logins(marketer),
        reset=False,
    )

    assert again.pk == first.pk
    assert crm.calls == calls
    assert AuditEvent.objects.count() == events
    assert ConnectedUser.objects.count() == 1


def test_reset_forgets_an_upgrade_and_connects_under_legacy_again(
    crm: FakeCrm, admin: User, marketer: User
) -> None:
    first = demo_legacy_connect(
        admin=admin,
        login_url="https://crm.test",
        system=SYSTEM,
        users=logins(marketer),
        reset=False,
    )
    CrmConnection.objects.filter(pk=first.pk).update(
        state=ConnectionState.CONNECTED_APP, legacy_secret=""
    )
    ConnectedUser.objects.update(state="pending", legacy_secret="")
    MigrationRun.objects.create(account=admin.account, actor=admin, succeeded=0, failed=1)
    now = timezone.now()
    Outage.objects.create(account=admin.account, starts_at=now, ends_at=now + timedelta(hours=2))

    again = demo_legacy_connect(
        admin=admin, login_url="https://crm.test", system=SYSTEM, users=logins(marketer), reset=True
    )

    mapping = ConnectedUser.objects.get()
    assert again.state == ConnectionState.LEGACY
    assert again.legacy_secret
    assert (mapping.state, bool(mapping.legacy_secret)) == ("legacy", True)
    assert not MigrationRun.objects.exists()
    assert not Outage.objects.exists()
    reset = AuditEvent.objects.get(action="connect.demo_reset")
    assert reset.actor == admin
    assert reset.old_value == {"state": "connected_app", "system_username": "system@acme.test"}


def test_a_refused_login_says_why_and_saves_nothing(
    crm: FakeCrm, admin: User, marketer: User
) -> None:
    wrong = LegacyLogin("system@acme.test", "pw", "STALE")

    with pytest.raises(ConnectError, match="authentication failure"):
        demo_legacy_connect(
            admin=admin,
            login_url="https://crm.test",
            system=wrong,
            users=logins(marketer),
            reset=False,
        )

    assert not CrmConnection.objects.exists()
    assert not ConnectedUser.objects.exists()
