"""Attack: a second org's pre-authorized CRM user, named from the first org's account.

The CRM (here a fake) lets the JWT bearer flow through for `eve@other.test`, a user of another
org whom that org pre-authorized. On every Connect path the identity's org id is checked
against the connection's before anything is stored: she gets nothing, and nothing is kept.
"""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import Account, AuditEvent, User
from tandem.engagement.connect import services, tokens
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import (
    ApiCallDay,
    ConnectedUser,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.selectors import preflight
from tandem.engagement.connect.services.migration import users_migrate
from tests.engagement.conftest import client_for, make_user
from tests.engagement.connect.conftest import FakeCrm

EVE = "eve@other.test"
OTHER_ORG = "00D000000000099AAA"
URL = "/email/admin/salesforce-integration/"


@pytest.fixture
def eve(crm: FakeCrm) -> str:
    crm.add(EVE, "005000000000077AAA", org=OTHER_ORG, password="pwTOKEN")
    return EVE


@pytest.fixture
def victim(account: Account) -> User:
    from tandem.engagement.accounts.models import Role

    return make_user(account, "vic", Role.MARKETING_USER)


def stored(account: Account) -> tuple[object, ...]:
    """Everything an accepted identity would leave behind."""
    return (
        list(ConnectedUser.objects.filter(account=account).values_list("crm_username", "state")),
        list(ConnectedUser.objects.filter(account=account).values_list("crm_user_id", flat=True)),
        ApiCallDay.objects.filter(account=account, crm_username=EVE).exists(),
        AuditEvent.objects.filter(account=account, action="connect.user_mapped").count(),
        tokens.token_cached(account.pk, EVE) is not None,
    )


def test_mapping_another_orgs_user_under_connected_app_is_refused(
    upgraded: CrmConnection, eve: str, admin: User, victim: User, account: Account, crm: FakeCrm
) -> None:
    before = stored(account)

    with pytest.raises(ConnectError, match=OTHER_ORG):
        services.connected_user_map(actor=admin, connection=upgraded, user=victim, crm_username=EVE)

    assert f"jwt {EVE}" in crm.calls  # the CRM was asked: the refusal is Connect's own check
    assert stored(account) == before


def test_mapping_another_orgs_user_under_legacy_is_refused(
    legacy: CrmConnection, eve: str, admin: User, victim: User, account: Account
) -> None:
    before = stored(account)

    with pytest.raises(ConnectError, match=OTHER_ORG):
        services.connected_user_map(
            actor=admin,
            connection=legacy,
            user=victim,
            crm_username=EVE,
            password="pw",
            security_token="TOKEN",
        )

    assert stored(account) == before


def test_the_web_form_shows_the_refusal_beside_the_field_and_stores_nothing(
    upgraded: CrmConnection, eve: str, admin: User, victim: User, account: Account
) -> None:
    before = stored(account)

    response = client_for(admin).post(URL + "users/", {"user": str(victim.pk), "crm_username": EVE})

    assert response.status_code == 400
    assert OTHER_ORG in response.content.decode()
    assert stored(account) == before


def test_migration_of_a_mapping_that_names_another_orgs_user_fails_and_stores_nothing(
    upgraded: CrmConnection, eve: str, admin: User, victim: User, account: Account
) -> None:
    forged = ConnectedUser.objects.create(
        account=account,
        user=victim,
        crm_username=EVE,
        crm_user_id="",
        state=UserConnectionState.PENDING,
        was_legacy=True,
    )

    run = users_migrate(actor=admin, connection=upgraded)

    forged.refresh_from_db()
    row = next(r for r in run.rows if r["crm_username"] == EVE)
    assert (row["status"], row["error_code"]) == ("failure", "org_mismatch")
    assert forged.state == UserConnectionState.PENDING
    assert forged.crm_user_id == ""
    assert not ApiCallDay.objects.filter(account=account, crm_username=EVE).exists()
    assert tokens.token_cached(account.pk, EVE) is None


def test_next_use_of_another_orgs_user_is_refused(
    upgraded: CrmConnection, eve: str, victim: User, account: Account
) -> None:
    ConnectedUser.objects.create(
        account=account,
        user=victim,
        crm_username=EVE,
        state=UserConnectionState.CONNECTED,
    )

    with pytest.raises(ConnectError, match=OTHER_ORG):
        services.connection_token(upgraded, EVE)

    assert tokens.token_cached(account.pk, EVE) is None
    assert not ApiCallDay.objects.filter(account=account, crm_username=EVE).exists()


def test_a_username_that_is_not_mapped_gets_no_token(upgraded: CrmConnection, eve: str) -> None:
    with pytest.raises(ConnectError, match="not a connected user"):
        services.connection_token(upgraded, EVE)


def test_preflight_says_another_orgs_user_is_not_ready(
    legacy: CrmConnection, eve: str, victim: User, account: Account
) -> None:
    ConnectedUser.objects.create(account=account, user=victim, crm_username=EVE, was_legacy=True)

    rows = {row.crm_username: row for row in preflight(connection=legacy)}

    assert not rows[EVE].ready
    assert rows[EVE].error_code == "org_mismatch"
    assert rows["maria@acme.test"].ready


def test_legacy_reconnect_to_another_org_is_refused_while_users_are_mapped(
    legacy: CrmConnection, eve: str, admin: User, account: Account
) -> None:
    with pytest.raises(ConnectError, match=OTHER_ORG):
        services.connection_legacy_connect(
            actor=admin,
            account=account,
            login_url="https://crm.test",
            username=EVE,
            password="pw",
            security_token="TOKEN",
        )

    legacy.refresh_from_db()
    assert (legacy.org_id, legacy.system_username) == ("00D000000000001AAA", "system@acme.test")
